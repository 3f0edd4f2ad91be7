# confeval.sh - evaluates a module's dkms.conf (and its /etc/dkms overrides) for many
# targets in one bash process, the way dkms 3.4.3 reads them, and prints the whitelisted
# directives as NUL-separated records for orchestrator/conf/conf.c. Compiled into the binary
# as the C string confeval_sh; executor/confeval.c runs it as `bash -c "$confeval_sh"`.
#
# Arguments (everything comes from argv; the environment holds only PATH, LANG, LC_ALL,
# HOME and the caller's DKMS_DIRECTIVE* variables):
#   $0 dkms  $1 protocol version (1)
#   $2 dkms_tree $3 source_tree $4 install_tree $5 module $6 module_version
#   $7 parallel_jobs $8 running_distribution
#   N_FILES FILE...            files sourced for every target, in order (dkms.conf first)
#   N_DIRECTIVES NAME=VALUE... --directive values, applied after all files
#   N_TARGETS, then per target:
#     KERNELVER ARCH KERNEL_SOURCE_DIR KERNEL_CONFIG N_TFILES TFILE...
#     (TFILEs are the per-kernel overrides, sourced after the common files)
#
# Output (stdout), every field terminated by one NUL byte:
#   "MFCONF1"                               stream header
#   per target:
#     "T" kernelver arch                    target header
#     per existing file, in order:
#       "F" path kind status                kind: ok (sourced; status = source's status,
#                                           which dkms ignores), syntax (bash -n failed;
#                                           not sourced), exit (the file called exit or
#                                           died; none of its values applied)
#       "D" name value0                     per deprecated directive set after that file
#     "V" name index value                  final values: every index of every
#                                           whitelisted directive (a scalar is index 0)
#     "E"                                   end of target, or
#     "A" status "E"                        the target's shell died (status)
#   "Z"                                     end of stream
#
# What dkms does, and what this reproduces: each file is sourced in a subshell (stdout
# discarded, stderr kept); for every whitelisted directive the subshell prints
# NAME[i]="value" and the parent sources that text again. So a value is expanded a second
# time as a double-quoted string, in a scope where only dkms's own variables and the
# directives already assigned are visible (not the file's other variables). Before that
# re-read, dkms strips one trailing \r, and its unquoted echo collapses each run of
# spaces, tabs and newlines into one space. Here the re-read is an unquoted here-document
# built from the value, so $var, ${...}, $(...), `...` and backslash escapes behave as in
# dkms, but a '"' in a value is a literal character instead of ending the string (dkms
# would run what follows it as code), \" becomes '"' as in dkms, and a trailing lone
# backslash is kept literally. dkms also glob-expands values against its cwd and splits
# them with the file's IFS; neither is reproduced (values are split with the default IFS).
# DKMS_DIRECTIVE*="NAME=value" variables (from the environment or set by a file) assign
# NAME (any name, or NAME[i]) after each file, expanded again like the directives.
# A file can only corrupt its own values here; containing its code is the sandbox's job.

shopt -s extglob
IFS=$' \t\n'

# dkms 3.4.3's dkms_conf_variables, in its order (the order of the re-read assignments).
__mf_names=(PACKAGE_NAME PACKAGE_VERSION POST_ADD POST_BUILD POST_INSTALL POST_REMOVE
	PRE_BUILD PRE_INSTALL BUILD_DEPENDS BUILD_EXCLUSIVE_ARCH BUILD_EXCLUSIVE_CONFIG
	BUILD_EXCLUSIVE_KERNEL BUILD_EXCLUSIVE_KERNEL_MIN BUILD_EXCLUSIVE_KERNEL_MAX
	build_exclude OBSOLETE_BY MAKE MAKE_MATCH PATCH PATCH_MATCH patch_array
	BUILT_MODULE_NAME built_module_name BUILT_MODULE_LOCATION built_module_location
	DEST_MODULE_NAME dest_module_name DEST_MODULE_LOCATION dest_module_location
	STRIP strip AUTOINSTALL NO_WEAK_MODULES BUILD_DEPENDS_REBUILD
	CLEAN REMAKE_INITRD MODULES_CONF MODULES_CONF_OBSOLETES
	MODULES_CONF_ALIAS_TYPE MODULES_CONF_OBSOLETE_ONLY)
__mf_deprecated=(CLEAN REMAKE_INITRD MODULES_CONF MODULES_CONF_OBSOLETES
	MODULES_CONF_ALIAS_TYPE MODULES_CONF_OBSOLETE_ONLY OBSOLETE_BY)
declare -A __mf_is_name=()
for __mf_n in "${__mf_names[@]}"; do
	__mf_is_name[$__mf_n]=1
done
declare -A __mf_syntax=()   # path -> status of bash -n, filled lazily
__mf_ws=$' \t\n'

# Sets __mf_v to $1 as dkms's second read of NAME[i]="$1" would (see the header).
__mf_expand() {
	__mf_v=$1
	case $__mf_v in
	*[\$\`\\]*) ;;
	*) return 0 ;;
	esac
	if [[ $__mf_v == *'\"'* ]]; then
		__mf_unescape_quotes
	fi
	__mf_src=${__mf_v##*[!\\]}
	if (( ${#__mf_src} % 2 )); then
		__mf_v+='\'
	fi
	__mf_src=$__mf_v
	__mf_v=
	set --
	eval "IFS= read -r -d '' __mf_v <<__MF_END_OF_VALUE__
$__mf_src
__MF_END_OF_VALUE__" </dev/null
	__mf_v=${__mf_v%$'\n'}
}

# Turns each \" in __mf_v into ", keeping every other backslash pair as it is.
__mf_unescape_quotes() {
	local __mf_in=$__mf_v __mf_out=
	while [[ $__mf_in ]]; do
		if [[ ${__mf_in:0:1} == '\' && ${#__mf_in} -ge 2 ]]; then
			if [[ ${__mf_in:1:1} == '"' ]]; then
				__mf_out+='"'
			else
				__mf_out+=${__mf_in:0:2}
			fi
			__mf_in=${__mf_in:2}
		else
			__mf_out+=${__mf_in:0:1}
			__mf_in=${__mf_in:1}
		fi
	done
	__mf_v=$__mf_out
}

# Applies a value printed by a file's subshell: \r strip, blank collapse, re-read.
__mf_apply_value() {
	[[ ${__mf_is_name[$1]} && $2 =~ ^[0-9]+$ ]] || return 0
	__mf_val=${3%$'\r'}
	if [[ $__mf_val == *[$'\t\n']* || $__mf_val == *'  '* ]]; then
		__mf_val=${__mf_val//+([$__mf_ws])/ }
	fi
	__mf_expand "$__mf_val"
	printf -v "$1[$2]" '%s' "$__mf_v"
}

# Applies one DKMS_DIRECTIVE*="NAME=value" (NAME may be NAME[i]).
__mf_apply_directive() {
	[[ $1 == *=* ]] || return 0
	__mf_dn=${1%%=*}
	__mf_val=${1#*=}
	if [[ ! $__mf_dn =~ ^[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])?$ || $__mf_dn == __mf_* ]]; then
		printf '%s: DKMS_DIRECTIVE: ignoring invalid name %s\n' "$0" "$__mf_dn" >&2
		return 0
	fi
	__mf_val=${__mf_val//+([$__mf_ws])/ }
	__mf_expand "$__mf_val"
	printf -v "$__mf_dn" '%s' "$__mf_v"
}

# Prints a V record for every index of every whitelisted directive.
__mf_emit_values() {
	local __mf_n __mf_i __mf_k __mf_ix
	for __mf_n in "${__mf_names[@]}"; do
		eval "__mf_ix=(\"\${!${__mf_n}[@]}\")"
		for __mf_i in "${__mf_ix[@]}"; do
			__mf_k="${__mf_n}[$__mf_i]"
			printf 'V\0%s\0%s\0%s\0' "$__mf_n" "$__mf_i" "${!__mf_k}"
		done
	done
}

# Runs in the file's subshell after sourcing: prints V and K records, then X status.
__mf_emit_sourced() {
	local __mf_st=$1 __mf_n
	trap - EXIT ERR RETURN DEBUG
	set +e +u +f +o pipefail
	IFS=$' \t\n'
	__mf_emit_values
	for __mf_n in ${!DKMS_DIRECTIVE*}; do
		printf 'K\0%s\0' "${!__mf_n}"
	done
	printf 'X\0%d\0' "$__mf_st"
}

# The body of a file's subshell: source with stdout discarded, then report.
__mf_source_file() {
	set --
	source "$__mf_file" >/dev/null
	__mf_emit_sourced "$?"
	exit 0
}

# Reads the subshell's records (stdin) and applies them; sets __mf_kind/__mf_status.
__mf_read_records() {
	local __mf_tag __mf_a __mf_b __mf_c
	__mf_kind=exit
	__mf_status=255
	while IFS= read -r -d '' __mf_tag; do
		case $__mf_tag in
		V)
			IFS= read -r -d '' __mf_a && IFS= read -r -d '' __mf_b &&
				IFS= read -r -d '' __mf_c || break
			[[ $__mf_kind == exit ]] && __mf_apply_value "$__mf_a" "$__mf_b" "$__mf_c"
			;;
		K)
			IFS= read -r -d '' __mf_a || break
			[[ $__mf_kind == exit ]] && __mf_apply_directive "$__mf_a"
			;;
		X)
			IFS= read -r -d '' __mf_a || break
			__mf_kind=ok
			__mf_status=$__mf_a
			;;
		Z)
			# The last record; stop here rather than wait for EOF, which a
			# background job started by the file could hold off forever.
			IFS= read -r -d '' __mf_a || break
			[[ $__mf_kind == exit ]] && __mf_status=$__mf_a
			break
			;;
		*) break ;;
		esac
	done
}

# Sources one existing file for the current target and prints its F and D records.
__mf_do_file() {
	__mf_file=$1
	if [[ ${__mf_syntax[$__mf_file]:-0} != 0 ]]; then
		__mf_kind=syntax
		__mf_status=${__mf_syntax[$__mf_file]}
	else
		__mf_read_records < <( (__mf_source_file); printf 'Z\0%d\0' "$?")
	fi
	printf 'F\0%s\0%s\0%s\0' "$__mf_file" "$__mf_kind" "$__mf_status"
	for __mf_n in "${__mf_deprecated[@]}"; do
		eval "__mf_c=\${#${__mf_n}[@]}"
		if (( __mf_c > 0 )); then
			__mf_k="${__mf_n}[0]"
			printf 'D\0%s\0%s\0' "$__mf_n" "${!__mf_k}"
		fi
	done
}


# The body of one target's subshell: $@ = the files to source for it.
__mf_target() {
	for __mf_n in "${__mf_names[@]}"; do
		unset "$__mf_n"
	done
	printf 'T\0%s\0%s\0' "$kernelver" "$arch"
	for __mf_f in "$@"; do
		[[ -e $__mf_f ]] && __mf_do_file "$__mf_f"
	done
	for __mf_d in "${__mf_directives[@]}"; do
		__mf_dn=${__mf_d%%=*}
		if [[ $__mf_dn =~ ^[A-Za-z_][A-Za-z0-9_]*$ && $__mf_dn != __mf_* ]]; then
			printf -v "$__mf_dn" '%s' "${__mf_d#*=}"
		else
			printf '%s: --directive: %s: not a valid identifier\n' "$0" "$__mf_dn" >&2
		fi
	done
	__mf_emit_values
	printf 'E\0'
	exit 0
}

# Runs bash -n once per readable file; a syntax error means the file is not sourced.
__mf_check_syntax() {
	local __mf_f
	for __mf_f in "$@"; do
		[[ -e $__mf_f && -r $__mf_f && -z ${__mf_syntax[$__mf_f]} ]] || continue
		"$BASH" -O extglob -n "$__mf_f"
		__mf_syntax[$__mf_f]=$?
	done
}

if [[ $1 != 1 ]]; then
	printf '%s: unsupported protocol version %s\n' "$0" "$1" >&2
	exit 2
fi
dkms_tree=$2 source_tree=$3 install_tree=$4 module=$5 module_version=$6
parallel_jobs=$7 running_distribution=$8
shift 8
__mf_files=("${@:2:$1}")
shift $(( $1 + 1 ))
__mf_directives=("${@:2:$1}")
shift $(( $1 + 1 ))
__mf_ntargets=$1
shift
printf 'MFCONF1\0'
for (( __mf_t = 0; __mf_t < __mf_ntargets; __mf_t++ )); do
	kernelver=$1 arch=$2 kernel_source_dir=$3 kernel_config=$4
	__mf_tfiles=("${@:6:$5}")
	shift $(( $5 + 5 ))
	__mf_check_syntax "${__mf_files[@]}" "${__mf_tfiles[@]}"
	(__mf_target "${__mf_files[@]}" "${__mf_tfiles[@]}")
	__mf_st=$?
	if (( __mf_st != 0 )); then
		printf 'A\0%d\0E\0' "$__mf_st"
	fi
done
printf 'Z\0'
