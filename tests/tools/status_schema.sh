#!/bin/sh
# status_schema.sh TEST_BIN SCHEMA - validates the status JSON of the unit fixture tree
# (TEST_BIN --dump-json FILE) against SCHEMA, and checks that SCHEMA rejects a bad state.
set -eu
out=$(mktemp "${TMPDIR:-/tmp}/mf-status-json.XXXXXX")
trap 'rm -f "$out"' EXIT
"$1" --dump-json "$out"
python3 -c 'import jsonschema,json,sys; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$out" "$2"
python3 -c '
import jsonschema, json, sys
doc, schema = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
doc["entries"][0]["state"] = "bogus"
try:
    jsonschema.validate(doc, schema)
except jsonschema.ValidationError:
    sys.exit(0)
sys.exit("schema accepted state \"bogus\"")
' "$out" "$2"
echo "status JSON matches $2"
