#!/bin/bash
# 23-docs: what a person reads about modforge, as `cmake --install` puts it (into a
# DESTDIR): --help and `help VERB`; the man page modforge(8), and dkms(8) pointing to it,
# render without warnings; the bash completion completes verbs, options, the module/
# versions of a scratch DKMS tree (--dkmstree on the line) and the kernels with headers of
# a scratch module tree (--installtree); the zsh completion loads and registers for both
# names; the JSON schemas are installed as they are in schema/.
# (That every verb and option is in all of them is unit.test_help.)
. "$(dirname "$0")/lib.sh"
e2e_init
MODFORGE_BUILD=${MODFORGE_BUILD:-$(dirname "$MODFORGE")}
if ! modforge_only "modforge's own help, man page and completions"; then
	e2e_done
fi
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}

diag "--- help"
expect_rc 0 "$MODFORGE" --help
expect_text "Usage: modforge VERB [M/V | DIR] [options]" "$E2E_OUT"
expect_text "  --events FILE               append the run's events as JSON lines" "$E2E_OUT"
expect_rc 0 "$MODFORGE" help install
expect_line "Usage: modforge install M/V | DIR" "$E2E_OUT"
expect_text "  --modprobe-on-install       after installing for the running kernel" "$E2E_OUT"
expect_rc 0 "$MODFORGE" remove --help
expect_line "Usage: modforge remove M/V (-k K | --all)" "$E2E_OUT"
expect_rc 1 "$MODFORGE" help instal
expect_line 'Error! "instal" is not a verb; did you mean "install"?' "$E2E_ERR"
expect_rc 0 "$(dirname "$MODFORGE")/dkms" --help   # as dkms: dkms's usage
expect_line "  [action]  = { add | remove | build | unbuild | install | uninstall | match |" "$E2E_OUT"

diag "--- cmake --install into a DESTDIR"
DEST=$E2E_TMP/dest
run_cmd env DESTDIR="$DEST" cmake --install "$MODFORGE_BUILD" --prefix /usr
if [ "$E2E_RC" -eq 0 ]; then ok "cmake --install exit 0"; else not_ok "cmake --install exit 0" "$E2E_TMP/last.all"; fi
MAN=$DEST/usr/share/man
for f in man8/modforge.8 man8/dkms.8; do expect_file "$MAN/$f"; done
run_cmd env MANWIDTH=100 LC_ALL=C.UTF-8 man --warnings -l "$MAN/man8/modforge.8"
expect_eq "man modforge: no warnings" "" "$(cat "$E2E_ERR")"
expect_text "       --modprobe-on-install" "$E2E_OUT"
(cd "$MAN" && env MANWIDTH=100 LC_ALL=C.UTF-8 man --warnings -l man8/dkms.8) >"$E2E_TMP/dkms8.txt" 2>&1
if cmp -s "$E2E_OUT" "$E2E_TMP/dkms8.txt"; then ok "man dkms is modforge(8)"; else not_ok "man dkms is modforge(8)" "$E2E_TMP/dkms8.txt"; fi
for s in status plan events; do
	if cmp -s "$SCHEMA_DIR/$s.schema.json" "$DEST/usr/share/modforge/schema/$s.schema.json"; then
		ok "schema $s installed"
	else
		not_ok "schema $s installed in /usr/share/modforge/schema"
	fi
done

diag "--- bash completion, from where it was installed"
COMP=$DEST/usr/share/bash-completion/completions
cmp -s "$COMP/modforge" "$COMP/dkms" && ok "the dkms completion is modforge's" || not_ok "the dkms completion is modforge's"
use_root "$(new_root comp)"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$MODFORGE_SRC/examples/mf-consumer-1.0" "$SRC/"
expect_rc 0 mf add mf-hello/1.0
expect_rc 0 mf add mf-consumer/1.0
mkdir -p "$INST/6.1.0-0-noheaders"
# complete WORD...: what bash completes for the last word of the command line WORD...
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _modforge; printf "%s\n" "${COMPREPLY[@]}" | sort' \
		complete "$COMP/modforge" "$@"
}
expect_eq "verbs" "install" "$(complete_words modforge inst)"
expect_eq "verbs as dkms" "$(printf 'unbuild\nuninstall')" "$(complete_words dkms un)"
expect_eq "options" "$(printf -- '--modprobe-on-install\n--module')" "$(complete_words modforge install --mo)"
expect_eq "added module/versions" "$(printf 'mf-consumer/1.0\nmf-hello/1.0')" \
	"$(complete_words modforge remove --dkmstree "$DKMS" mf-)"
expect_eq "-m: added module/versions (--dkmstree=DIR)" "mf-hello/1.0" \
	"$(complete_words modforge status "--dkmstree=$DKMS" -m mf-h)"
expect_eq "-k: kernels with headers" "$(printf '%s\n' "$K1" "$K2" | sort)" \
	"$(complete_words modforge build --installtree "$INST" -k '')"
expect_eq "help: verbs" "autoinstall" "$(complete_words modforge help auto)"
expect_eq "after kernel_postinst (a verb too): module/versions" "mf-hello/1.0" \
	"$(complete_words modforge kernel_postinst --dkmstree "$DKMS" mf-h)"
expect_eq "--dkmstree=DIR as bash splits it" "mf-hello/1.0" \
	"$(complete_words modforge status --dkmstree = "$DKMS" -m mf-h)"
# A module name is whatever a dkms.conf said: completing it runs nothing.
evil='$(touch${IFS}INJECTED)'
mkdir -p "$DKMS/$evil/1.0" "$E2E_TMP/evil-src" "$E2E_TMP/cwd"
ln -s "$E2E_TMP/evil-src" "$DKMS/$evil/1.0/source"
got=$(cd "$E2E_TMP/cwd" && complete_words modforge remove --dkmstree "$DKMS" '$')
expect_eq "a name with \$(...) is offered as it is" "$evil/1.0" "$got"
expect_no_file "$E2E_TMP/cwd/INJECTED"

diag "--- zsh completion"
ZC=$DEST/usr/share/zsh/vendor-completions
if zsh -n "$ZC/_modforge"; then ok "zsh -n _modforge"; else not_ok "zsh -n _modforge"; fi
run_cmd zsh -fc 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2"; print -r -- $_comps[modforge] $_comps[dkms]' \
	zsh "$ZC" "$E2E_TMP/zcompdump"
expect_lines "$E2E_OUT" "_modforge _modforge"
e2e_done
