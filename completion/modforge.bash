# bash completion for modforge (and dkms, when modforge is installed as dkms): verbs,
# options, the module/versions added to the DKMS tree and the kernels with headers.
# --dkmstree and --installtree on the command line are honoured.

# Names read from the trees are never handed to compgen -W, which would expand a $(...)
# in them (a PACKAGE_NAME is whatever a dkms.conf says): they are matched as plain text.

# _modforge_root OPTION DEFAULT: the value of OPTION on the line, else DEFAULT. Bash
# splits "--opt=value" into "--opt" "=" "value".
_modforge_root()
{
	local i w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == "$1" ]] && ((i + 1 < COMP_CWORD)); then
			if [[ ${COMP_WORDS[i + 1]} == = ]] && ((i + 2 < COMP_CWORD)); then
				printf '%s\n' "${COMP_WORDS[i + 2]}"
			else
				printf '%s\n' "${COMP_WORDS[i + 1]}"
			fi
			return
		elif [[ $w == "$1="* ]]; then
			printf '%s\n' "${w#"$1"=}"
			return
		fi
	done
	printf '%s\n' "$2"
}

# Every M/V with a source link in the DKMS tree.
_modforge_added()
{
	local tree link mv
	tree=$(_modforge_root --dkmstree /var/lib/dkms)
	for link in "$tree"/*/*/source; do
		[[ -L $link ]] || continue
		mv=${link%/source}
		printf '%s/%s\n' "$(basename "$(dirname "$mv")")" "$(basename "$mv")"
	done
}

# Every kernel whose module tree has headers (build/).
_modforge_kernels()
{
	local tree d
	tree=$(_modforge_root --installtree /lib/modules)
	for d in "$tree"/*/build; do
		[[ -d $d ]] && basename "$(dirname "$d")"
	done
}

# _modforge_match CUR: the lines of stdin that start with CUR, into COMPREPLY.
_modforge_match()
{
	local w
	while IFS= read -r w; do
		[[ $w == "$1"* ]] && COMPREPLY+=("$w")
	done
}

_modforge()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local verbs="add build unbuild install uninstall remove autoinstall status generate_mok
		kernel_postinst kernel_preinst kernel_prerm match mktarball ldtarball help"
	local opts="-m --module -v -k --kernelver -a --arch -c -j --all --force --force-version-override
		--kernelsourcedir --config --directive --templatekernel --archive --binaries-only
		--source-only --dkmstree --sourcetree --installtree --no-depmod --modprobe-on-install
		--verbose -q --quiet -V --version -h --help --no-initrd --no-clean-kernel
		--no-prepare-kernel --debug --symlink-modules --rpm_safe_upgrade --json --dry-run
		--all-kernels --no-cache --events --no-sandbox --sandbox-scripts"
	COMPREPLY=()
	case $prev in
	-k | --kernelver)
		_modforge_match "$cur" < <(_modforge_kernels)
		return
		;;
	-m | --module)
		_modforge_match "$cur" < <(_modforge_added)
		return
		;;
	-a | --arch)
		mapfile -t COMPREPLY < <(compgen -W "$(uname -m)" -- "$cur")
		return
		;;
	-c | --config | --archive | --events)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--dkmstree | --sourcetree | --installtree | --kernelsourcedir)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	-v | -j | --directive | --templatekernel)
		return
		;;
	esac
	local i verb= vlist
	vlist=" $(printf '%s ' $verbs)"
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ $vlist == *" ${COMP_WORDS[i]} "* ]]; then
			verb=${COMP_WORDS[i]}
			break
		fi
	done
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
	elif [[ -z $verb || $verb == help ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
	elif [[ $verb == add || $verb == build || $verb == install ]]; then
		# an added M/V, or a source directory with a dkms.conf
		_modforge_match "$cur" < <(_modforge_added)
		mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur")
	else
		_modforge_match "$cur" < <(_modforge_added)
	fi
}

complete -F _modforge modforge dkms
