#!/bin/bash
# 18-terminal: what a person sees on a terminal. modforge runs in tmux, 70 columns wide,
# building a package whose PRE_BUILD sleeps, for two kernels at once. While the builds run
# the screen's last line is the one status line, "[k/N] running: build m/v K 3s, ...",
# cut to the width, its clock counting in place (one such line on the screen, however
# often it was redrawn). When the run ends no status line is left anywhere in the
# scrollback, no block of output is glued to it, nothing says "(null)", and each
# build's block is on lines of its own. In a pipe, nothing of it: no \r, no escape. When
# several jobs' output is shown, each build's block starts with "m/v, kernel, arch:" and
# each depmod names its kernel; with one job, dkms's text.
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}
if ! modforge_only "modforge's status line (dkms has none)"; then
	e2e_done
fi
command -v tmux >/dev/null || bail "tmux is needed (scripts/deps.sh installs it)"
use_root "$(new_root term)"

# mf-slow: mf-hello whose PRE_BUILD sleeps 3 s, so that the status line has time to tick.
PKG=$E2E_TMP/mf-slow-1.0
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$PKG"
sed -i 's/^PACKAGE_NAME=.*/PACKAGE_NAME="mf-slow"/' "$PKG/dkms.conf"
echo 'PRE_BUILD="slow.sh"' >>"$PKG/dkms.conf"
printf '#!/bin/sh\nsleep 3\n' >"$PKG/slow.sh"
chmod +x "$PKG/slow.sh"
expect_rc 0 mf add "$PKG" -k "$K1"

SOCK=mf-e2e-$$
tmux_() { tmux -L "$SOCK" "$@"; }
cleanup_tmux() { tmux_ kill-server 2>/dev/null || true; }
trap 'cleanup_tmux; e2e_cleanup' EXIT
CMD=$(printf '%q ' env MODFORGE_ETC_DKMS="$MODFORGE_ETC_DKMS" "$MODFORGE" build mf-slow/1.0 -k "$K1" -k "$K2" -j 2 \
	--no-cache --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST")
tmux_ new-session -d -s mf -x 70 -y 40 "$CMD; echo EXIT=\$?; sleep 600"
screen() { tmux_ capture-pane -p -t mf; }

# wait_for PATTERN: polls the screen until a line matches; fails when the run ended
# without one (or after 10 minutes).
wait_for() {
	local i
	for ((i = 0; i < 3000; i++)); do
		screen >"$E2E_TMP/screen" 2>/dev/null || true
		grep -qE "$1" "$E2E_TMP/screen" && return 0
		grep -q '^EXIT=' "$E2E_TMP/screen" && return 1
		sleep 0.2
	done
	return 1
}

STATUS='^\[[0-9]+/[0-9]+\] running: build mf-slow/1\.0 '
if wait_for "$STATUS"; then
	ok "while the builds run, the status line names them"
	cp "$E2E_TMP/screen" "$E2E_TMP/screen.first"
	line=$(grep -E "$STATUS" "$E2E_TMP/screen.first")
	if [ "${#line}" -le 69 ]; then
		ok "the status line is cut to the width (${#line} of 70 columns): $line"
	else
		not_ok "the status line is cut to the width (${#line} > 69): $line" "$E2E_TMP/screen.first"
	fi
	n=$(grep -cE '^\[[0-9]+/[0-9]+\]' "$E2E_TMP/screen.first")
	expect_eq "one status line on the screen" 1 "$n"
	last=$(grep -v '^$' "$E2E_TMP/screen.first" | tail -n1)
	expect_eq "the status line is the last line" "$line" "$last"
	# Its clock moves: a later screen shows another time, still one status line.
	if wait_for "${STATUS}[^,]*([2-9]|[1-9][0-9])s"; then
		ok "the clock counts in place"
		n=$(grep -cE '^\[[0-9]+/[0-9]+\]' "$E2E_TMP/screen")
		expect_eq "still one status line after redraws" 1 "$n"
	else
		not_ok "the clock counts in place" "$E2E_TMP/screen"
	fi
else
	not_ok "while the builds run, the status line names them" "$E2E_TMP/screen"
fi

if wait_for '^EXIT='; then
	tmux_ capture-pane -p -J -S - -t mf >"$E2E_TMP/history"
	expect_line "EXIT=0" "$E2E_TMP/history"
	if grep -nE '\[[0-9]+/[0-9]+\]|running:' "$E2E_TMP/history" >"$E2E_TMP/stale"; then
		not_ok "no status line is left in the scrollback" "$E2E_TMP/history"
	else
		ok "no status line is left in the scrollback"
	fi
	expect_no_line "(null)" "$E2E_TMP/history"
	n=$(grep -cx 'Building module(s)... done.' "$E2E_TMP/history")
	expect_eq "each build's block on lines of its own" 2 "$n"
else
	not_ok "the run ends" "$E2E_TMP/screen"
fi

# In a pipe: the same run's text, and nothing of the status line.
expect_rc 0 mf unbuild mf-slow/1.0 -k "$K1"
expect_rc 0 mf unbuild mf-slow/1.0 -k "$K2"
mf build mf-slow/1.0 -k "$K1" -k "$K2" -j 2 --no-cache 2>&1 | cat >"$E2E_TMP/piped"
if grep -q $'\r\|\033' "$E2E_TMP/piped"; then
	not_ok "no status line in a pipe" "$E2E_TMP/piped"
else
	ok "no status line in a pipe"
fi
n=$(grep -cx 'Building module(s)... done.' "$E2E_TMP/piped")
expect_eq "the piped run's text is the same" 2 "$n"
# Several jobs' blocks say whose they are; depmod names its kernel when there are several.
for k in "$K1" "$K2"; do
	expect_line "mf-slow/1.0, $k, $E2E_ARCH:" "$E2E_TMP/piped"
done
expect_rc 0 mf install mf-slow/1.0 -k "$K1" -k "$K2" -j 2
expect_line "Running depmod for $K1... done." "$E2E_OUT"
expect_line "Running depmod for $K2... done." "$E2E_OUT"
# One job: dkms's text, no header.
expect_rc 0 mf unbuild mf-slow/1.0 -k "$K1"
expect_rc 0 mf install mf-slow/1.0 -k "$K1"
expect_no_line "mf-slow/1.0, $K1, $E2E_ARCH:" "$E2E_OUT"
expect_line "Running depmod... done." "$E2E_OUT"
e2e_done
