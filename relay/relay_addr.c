/* relay_addr.c — envelope addresses: the check inject and -t apply, and the address lists
 * of To:/Cc:/Bcc: header fields that -t reads (RFC 5322 3.4, groups and comments handled).
 * Memory: struct rl_addrs owns its strings; rl_addrs_free() releases them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "relay.h"

/* An envelope address: local@domain, printable, no blanks or angle brackets. "" is the null
 * reverse-path, allowed only where null_ok. */
bool rl_addr_ok(const char *a, bool null_ok)
{
	if (!*a)
		return null_ok;
	size_t n = strlen(a);
	if (n > 254)
		return false;
	const char *at = strrchr(a, '@');
	if (!at || at == a || !at[1])
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == 127 || *p == ',')
			return false;
	return true;
}

bool rl_addrs_add(struct rl_addrs *a, const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (!len)
		return true;
	for (size_t i = 0; i < a->n; i++)
		if (strlen(a->v[i]) == len && !strncasecmp(a->v[i], s, len))
			return true;
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 8;
		char **nv = realloc(a->v, nc * sizeof *nv);
		if (!nv)
			return false;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n] = strndup(s, len);
	return a->v[a->n++] != NULL;
}

/* Addresses of one header value: "A <a@x>, b@y, "Last, First" <c@z>" (groups and
 * comments in parentheses skipped). */
bool rl_parse_addr_list(const char *v, struct rl_addrs *a)
{
	const char *p = v, *start = v;
	bool quote = false;
	int paren = 0;
	const char *lt = NULL, *gt = NULL;
	for (;; p++) {
		char ch = *p;
		if (ch == '"' && !paren)
			quote = !quote;
		else if (!quote && ch == '(')
			paren++;
		else if (!quote && ch == ')' && paren)
			paren--;
		else if (!quote && !paren && ch == '<')
			lt = p;
		else if (!quote && !paren && ch == '>' && lt)
			gt = p;
		else if (!quote && !paren && ch == ':') /* "group:" */
			start = p + 1, lt = gt = NULL;
		if (ch == '\0' || (!quote && !paren && (ch == ',' || ch == ';'))) {
			bool ok;
			if (lt && gt)
				ok = rl_addrs_add(a, lt + 1, (size_t)(gt - lt - 1));
			else {
				/* bare address, comments removed */
				char buf[512];
				size_t k = 0;
				int d = 0;
				for (const char *q = start; q < p && k < sizeof buf - 1; q++) {
					if (*q == '(')
						d++;
					else if (*q == ')' && d)
						d--;
					else if (!d)
						buf[k++] = *q;
				}
				buf[k] = '\0';
				ok = rl_addrs_add(a, buf, k);
			}
			if (!ok)
				return false;
			lt = gt = NULL;
			start = p + 1;
			if (ch == '\0')
				break;
		}
	}
	return true;
}

void rl_addrs_free(struct rl_addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}
