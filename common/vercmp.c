#include "vercmp.h"

#include <stdbool.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* sed 's:\(A\)\(B\):\1 \2:g' where A/B are "digit" or "not digit"; returns new string. */
static char *split_pairs(const char *s, bool first_digit)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && is_digit(s[i]) == first_digit && is_digit(s[i + 1]) != first_digit) {
			buf_addc(&b, s[i]);
			buf_addc(&b, ' ');
			buf_addc(&b, s[++i]);
		} else {
			buf_addc(&b, s[i]);
		}
	}
	return buf_detach(&b);
}

/* sed 's: \([0-9]\{width\}\) : <zeros>\1 :g' (non-overlapping, left to right). */
static char *pad_runs(const char *s, size_t width, const char *zeros)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		bool match = i + width + 1 < n && s[i] == ' ' && s[i + width + 1] == ' ';
		for (size_t k = 1; match && k <= width; k++)
			match = is_digit(s[i + k]);
		if (match) {
			buf_addc(&b, ' ');
			buf_adds(&b, zeros);
			buf_add(&b, s + i + 1, width);
			buf_addc(&b, ' ');
			i += width + 2;
		} else {
			buf_addc(&b, s[i++]);
		}
	}
	return buf_detach(&b);
}

char *dkms_ver(const char *v)
{
	char *a = split_pairs(v, false);
	char *b = split_pairs(a, true);
	free(a);
	a = xasprintf(" %s ", b);
	free(b);
	b = pad_runs(a, 1, "00");
	free(a);
	a = pad_runs(b, 2, "0");
	free(b);
	size_t j = 0;
	for (size_t i = 0; a[i]; i++)
		if (a[i] != ' ')
			a[j++] = a[i];
	a[j] = '\0';
	return a;
}

int dkms_vercmp(const char *a, const char *b)
{
	char *va = dkms_ver(a), *vb = dkms_ver(b);
	int r = strcmp(va, vb);
	free(va);
	free(vb);
	return r;
}
