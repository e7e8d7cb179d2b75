/* receiver_config.c — defaults, the `key = value` config file (errors as file:line) and
 * the sender-group (HAT) table with its matching rules.
 *
 * A setting given twice keeps the last value, except the repeatable `listen` and `group`.
 * Memory: the config owns every string; rcv_config_free() releases them.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailtls/net.h"
#include "receiver.h"

static const char *const policy_names[RCV_TLS__COUNT] = {
    [RCV_TLS_OFF] = "off",
    [RCV_TLS_PREFERRED] = "preferred",
    [RCV_TLS_REQUIRED] = "required",
    [RCV_TLS_PREFERRED_VERIFY] = "preferred-verify",
    [RCV_TLS_REQUIRED_VERIFY] = "required-verify",
};

const char *rcv_tls_policy_name(enum rcv_tls_policy p)
{
	return (unsigned)p < RCV_TLS__COUNT ? policy_names[p] : "?";
}

bool rcv_tls_policy_parse(const char *s, enum rcv_tls_policy *out)
{
	for (int i = 0; i < RCV_TLS__COUNT; i++)
		if (!mt_strcasecmp(s, policy_names[i])) {
			*out = (enum rcv_tls_policy)i;
			return true;
		}
	if (!mt_strcasecmp(s, "none") || !mt_strcasecmp(s, "no")) {
		*out = RCV_TLS_OFF;
		return true;
	}
	return false;
}

void rcv_config_defaults(struct rcv_config *c)
{
	memset(c, 0, sizeof *c);
	if (gethostname(c->hostname, sizeof c->hostname - 1) != 0 || !c->hostname[0])
		mt_strlcpy(c->hostname, "localhost", sizeof c->hostname);
	c->data_dir = mt_strdup("receiver-data");
	c->reverse_dns = true;
	c->max_sessions = 2000;
	c->max_per_client = 50;
	c->max_commands = 1000;
	c->max_rcpts = 100;
	c->max_errors = 20;
	c->max_line = 1000;
	c->max_message_size = 10485760;
	c->timeout_command_ms = 120000;
	c->timeout_data_ms = 180000;
	c->timeout_tls_ms = 30000;
	c->session_deadline_ms = 1800000;
	c->shutdown_grace_ms = 10000;
	c->transcript_max = 32768;
}

static void free_listen(struct rcv_config *c)
{
	for (size_t i = 0; i < c->nlisten; i++) {
		free(c->listen[i].cert);
		free(c->listen[i].key);
	}
	c->nlisten = 0;
}

void rcv_config_free(struct rcv_config *c)
{
	free(c->path);
	free(c->data_dir);
	free_listen(c);
	free(c->cert);
	free(c->key);
	free(c->key_password);
	free(c->client_ca);
	free(c->tls_priority);
	for (size_t i = 0; i < c->ndomains; i++)
		free(c->domains[i]);
	free(c->domains);
	free(c->user);
	free(c->groups);
	memset(c, 0, sizeof *c);
}

char *rcv_path(const struct rcv_config *c, const char *rel)
{
	size_t n = strlen(c->data_dir) + strlen(rel) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", c->data_dir, rel);
	return p;
}

bool rcv_domain_ok(const char *addr, void *arg)
{
	const struct rcv_config *c = arg;
	if (c->ndomains == 0)
		return true;
	const char *at = strrchr(addr, '@');
	if (!at)
		return false;
	for (size_t i = 0; i < c->ndomains; i++)
		if (!mt_strcasecmp(at + 1, c->domains[i]))
			return true;
	return false;
}

/* ---- parsing helpers ---- */

static mt_status set_str(char **dst, const char *v, struct mt_err *err)
{
	char *d = mt_strdup(v);
	if (!d)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	free(*dst);
	*dst = d;
	return MT_OK;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!mt_strcasecmp(v, "yes") || !mt_strcasecmp(v, "true") || !strcmp(v, "1") ||
	    !mt_strcasecmp(v, "on")) {
		*out = true;
		return true;
	}
	if (!mt_strcasecmp(v, "no") || !mt_strcasecmp(v, "false") || !strcmp(v, "0") ||
	    !mt_strcasecmp(v, "off")) {
		*out = false;
		return true;
	}
	return false;
}

static bool parse_ull(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long mult = 1;
	if (!*v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno)
		return false;
	if (*end == 'k' || *end == 'K')
		mult = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mult = 1024 * 1024, end++;
	if (*end || n > max / mult)
		return false;
	*out = n * mult;
	return true;
}

/* Durations: "30" (seconds), "30s", "500ms", "2m". */
static bool parse_ms(const char *v, int *out)
{
	char *end;
	if (!*v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	double n = strtod(v, &end);
	if (errno)
		return false;
	double ms;
	if (!*end || !strcmp(end, "s"))
		ms = n * 1000;
	else if (!strcmp(end, "ms"))
		ms = n;
	else if (!strcmp(end, "m"))
		ms = n * 60000;
	else if (!strcmp(end, "h"))
		ms = n * 3600000;
	else
		return false;
	if (ms < 1 || ms > 86400000.0)
		return false;
	*out = (int)ms;
	return true;
}

#define FAIL(...) return mt_err_set(err, MT_ERR_USAGE, __VA_ARGS__)
#define WHERE where ? where : "", where ? ":" : "", line

mt_status rcv_match_parse(const char *s, struct rcv_match *m, struct mt_err *err)
{
	memset(m, 0, sizeof *m);
	if (!mt_strcasecmp(s, "all") || !strcmp(s, "*")) {
		m->kind = RCV_M_ALL;
		return MT_OK;
	}
	char buf[256];
	if (mt_strlcpy(buf, s, sizeof buf) >= sizeof buf)
		return mt_err_set(err, MT_ERR_USAGE, "match '%.40s...' too long", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, m->addr) == 1) {
		m->family = AF_INET;
		m->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, m->addr) == 1) {
		m->family = AF_INET6;
		m->prefix = 128;
	}
	if (m->family) {
		m->kind = RCV_M_CIDR;
		if (slash) {
			char *end;
			long p = strtol(slash + 1, &end, 10);
			if (!slash[1] || *end || p < 0 || p > (m->family == AF_INET ? 32 : 128))
				return mt_err_set(err, MT_ERR_USAGE, "bad prefix length in '%s'",
				                  s);
			m->prefix = (unsigned)p;
		}
		return MT_OK;
	}
	if (slash)
		return mt_err_set(err, MT_ERR_USAGE, "'%s' is neither an address nor a CIDR block",
		                  s);
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return mt_err_set(err, MT_ERR_USAGE,
			                  "'%s' is not an address, CIDR block, host name or "
			                  ".domain suffix",
			                  s);
	m->kind = s[0] == '.' ? RCV_M_SUFFIX : RCV_M_HOST;
	for (size_t i = 0; buf[i]; i++)
		m->name[i] = (char)tolower((unsigned char)buf[i]);
	size_t n = strlen(m->name);
	if (n > 1 && m->name[n - 1] == '.')
		m->name[n - 1] = '\0';
	return MT_OK;
}

/* "NAME policy=required match=a,b,c request_cert=yes" */
static mt_status parse_group(struct rcv_config *c, const char *v, int line, struct mt_err *err)
{
	struct rcv_group g;
	memset(&g, 0, sizeof g);
	g.policy = RCV_TLS_PREFERRED;
	g.line = line;
	char *copy = mt_strdup(v), *save = NULL;
	if (!copy)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	mt_status st = MT_OK;
	bool have_match = false;
	for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			if (g.name[0]) {
				st = mt_err_set(err, MT_ERR_USAGE,
				                "group: unexpected '%s' (expected key=value)", tok);
				break;
			}
			if (strlen(tok) >= sizeof g.name) {
				st = mt_err_set(err, MT_ERR_USAGE, "group name too long");
				break;
			}
			mt_strlcpy(g.name, tok, sizeof g.name);
			continue;
		}
		*eq = '\0';
		const char *k = tok, *val = eq + 1;
		if (!strcmp(k, "policy")) {
			if (!rcv_tls_policy_parse(val, &g.policy)) {
				st = mt_err_set(err, MT_ERR_USAGE,
				                "group: unknown policy '%s' (off, preferred, "
				                "required, preferred-verify, required-verify)",
				                val);
				break;
			}
		} else if (!strcmp(k, "match")) {
			char *s2 = NULL, *mc = mt_strdup(val);
			if (!mc) {
				st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
				break;
			}
			for (char *m = strtok_r(mc, ",", &s2); m && st == MT_OK;
			     m = strtok_r(NULL, ",", &s2)) {
				if (g.nm >= RCV_MAX_MATCH)
					st = mt_err_set(err, MT_ERR_USAGE,
					                "group: more than %d match entries",
					                RCV_MAX_MATCH);
				else
					st = rcv_match_parse(m, &g.m[g.nm++], err);
			}
			free(mc);
			have_match = true;
			if (st != MT_OK)
				break;
		} else if (!strcmp(k, "request_cert")) {
			if (!parse_bool(val, &g.request_cert)) {
				st = mt_err_set(err, MT_ERR_USAGE, "group: request_cert=yes|no");
				break;
			}
		} else {
			st = mt_err_set(err, MT_ERR_USAGE,
			                "group: unknown key '%s' (policy, match, request_cert)", k);
			break;
		}
	}
	free(copy);
	if (st != MT_OK)
		return st;
	if (!g.name[0])
		return mt_err_set(err, MT_ERR_USAGE, "group: a name is required");
	if (!have_match)
		return mt_err_set(err, MT_ERR_USAGE,
		                  "group %s: match= is required (addresses, CIDR blocks, host "
		                  "names, .suffixes or all)",
		                  g.name);
	for (size_t i = 0; i < c->ngroups; i++)
		if (!strcmp(c->groups[i].name, g.name))
			return mt_err_set(err, MT_ERR_USAGE, "group %s defined twice (line %d)",
			                  g.name, c->groups[i].line);
	struct rcv_group *ng = realloc(c->groups, (c->ngroups + 1) * sizeof *ng);
	if (!ng)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	c->groups = ng;
	c->groups[c->ngroups++] = g;
	return MT_OK;
}

/* "127.0.0.1:2525 cert=FILE key=FILE" */
static mt_status parse_listen(struct rcv_config *c, const char *v, bool replace_default,
                              struct mt_err *err)
{
	if (replace_default)
		free_listen(c);
	if (c->nlisten >= RCV_MAX_LISTEN)
		return mt_err_set(err, MT_ERR_USAGE, "more than %d listeners", RCV_MAX_LISTEN);
	struct rcv_listen_cfg l;
	memset(&l, 0, sizeof l);
	char *copy = mt_strdup(v), *save = NULL;
	if (!copy)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	mt_status st = MT_OK;
	int i = 0;
	for (char *tok = strtok_r(copy, " \t", &save); tok && st == MT_OK;
	     tok = strtok_r(NULL, " \t", &save), i++) {
		if (i == 0) {
			mt_strlcpy(l.addr, tok, sizeof l.addr);
			st = mt_net_split_hostport(tok, l.host, sizeof l.host, &l.port, err);
			if (st == MT_OK && !mt_net_is_ip(l.host))
				st = mt_err_set(err, MT_ERR_USAGE,
				                "listen: '%s' is not an IP address", l.host);
			if (st == MT_OK && l.port == 0)
				st =
				    mt_err_set(err, MT_ERR_USAGE, "listen: '%s' lacks a port", tok);
		} else if (!strncmp(tok, "cert=", 5)) {
			st = set_str(&l.cert, tok + 5, err);
		} else if (!strncmp(tok, "key=", 4)) {
			st = set_str(&l.key, tok + 4, err);
		} else {
			st = mt_err_set(err, MT_ERR_USAGE,
			                "listen: unexpected '%s' (ADDR:PORT [cert=FILE key=FILE])",
			                tok);
		}
	}
	free(copy);
	if (st == MT_OK && !l.addr[0])
		st = mt_err_set(err, MT_ERR_USAGE, "listen: an address is required");
	if (st == MT_OK && l.key && !l.cert)
		st = mt_err_set(err, MT_ERR_USAGE, "listen: key= without cert=");
	if (st != MT_OK) {
		free(l.cert);
		free(l.key);
		return st;
	}
	c->listen[c->nlisten++] = l;
	return MT_OK;
}

static mt_status parse_domains(struct rcv_config *c, const char *v, struct mt_err *err)
{
	for (size_t i = 0; i < c->ndomains; i++)
		free(c->domains[i]);
	c->ndomains = 0;
	if (!mt_strcasecmp(v, "any") || !*v)
		return MT_OK;
	char *copy = mt_strdup(v), *save = NULL;
	if (!copy)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	for (char *d = strtok_r(copy, ", \t", &save); d; d = strtok_r(NULL, ", \t", &save)) {
		char **nd = realloc(c->domains, (c->ndomains + 1) * sizeof *nd);
		if (!nd || !(nd[c->ndomains] = mt_strdup(d))) {
			if (nd)
				c->domains = nd;
			free(copy);
			return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		}
		c->domains = nd;
		c->ndomains++;
	}
	free(copy);
	return MT_OK;
}

static bool listen_from_file; /* the first `listen` in a file replaces the default */

mt_status rcv_config_set(struct rcv_config *c, const char *key, const char *val, const char *where,
                         int line, struct mt_err *err)
{
	struct mt_err e;
	mt_status st = MT_OK;
	unsigned long long n;
	mt_err_clear(&e);
#define U(field, max)                                                                              \
	else if (!strcmp(key, #field))                                                             \
	{                                                                                          \
		if (!parse_ull(val, (max), &n))                                                    \
			st = mt_err_set(&e, MT_ERR_USAGE,                                          \
			                "%s: expected a number up to %llu, not "                   \
			                "'%s'",                                                    \
			                key, (unsigned long long)(max), val);                      \
		else                                                                               \
			c->field = n;                                                              \
	}
#define T(field)                                                                                   \
	else if (!strcmp(key, #field))                                                             \
	{                                                                                          \
		if (!parse_ms(val, &c->field))                                                     \
			st = mt_err_set(&e, MT_ERR_USAGE,                                          \
			                "%s: expected a duration (30, 30s, 500ms, 2m), not '%s'",  \
			                key, val);                                                 \
	}
	if (!strcmp(key, "hostname")) {
		if (!*val || strlen(val) >= sizeof c->hostname || strpbrk(val, " \t\r\n"))
			st = mt_err_set(&e, MT_ERR_USAGE, "hostname: not a host name: '%s'", val);
		else
			mt_strlcpy(c->hostname, val, sizeof c->hostname);
	} else if (!strcmp(key, "data_dir")) {
		st = set_str(&c->data_dir, val, &e);
	} else if (!strcmp(key, "listen")) {
		st = parse_listen(c, val, where && !listen_from_file, &e);
		if (where)
			listen_from_file = true;
	} else if (!strcmp(key, "cert")) {
		st = set_str(&c->cert, val, &e);
	} else if (!strcmp(key, "key")) {
		st = set_str(&c->key, val, &e);
	} else if (!strcmp(key, "key_password")) {
		st = set_str(&c->key_password, val, &e);
	} else if (!strcmp(key, "client_ca")) {
		st = set_str(&c->client_ca, val, &e);
	} else if (!strcmp(key, "tls_priority")) {
		st = set_str(&c->tls_priority, val, &e);
	} else if (!strcmp(key, "user")) {
		st = set_str(&c->user, val, &e);
	} else if (!strcmp(key, "domains")) {
		st = parse_domains(c, val, &e);
	} else if (!strcmp(key, "group")) {
		st = parse_group(c, val, line, &e);
	} else if (!strcmp(key, "discard") || !strcmp(key, "reverse_dns")) {
		bool b;
		if (!parse_bool(val, &b))
			st = mt_err_set(&e, MT_ERR_USAGE, "%s: expected yes or no, not '%s'", key,
			                val);
		else if (!strcmp(key, "discard"))
			c->discard = b;
		else
			c->reverse_dns = b;
	}
	U(max_sessions, 1000000)
	U(max_per_client, 1000000)
	U(max_commands, 1000000)
	U(max_rcpts, 100000)
	U(max_errors, 100000)
	U(max_line, 65536)
	U(max_message_size, 1ULL << 40)
	U(transcript_max, 1 << 24)
	T(timeout_command_ms)
	T(timeout_data_ms)
	T(timeout_tls_ms)
	T(session_deadline_ms)
	T(shutdown_grace_ms)
	else if (!strcmp(key, "timeout_command")) st =
	    rcv_config_set(c, "timeout_command_ms", val, where, line, &e);
	else if (!strcmp(key, "timeout_data")) st =
	    rcv_config_set(c, "timeout_data_ms", val, where, line, &e);
	else if (!strcmp(key, "timeout_tls")) st =
	    rcv_config_set(c, "timeout_tls_ms", val, where, line, &e);
	else if (!strcmp(key, "session_deadline")) st =
	    rcv_config_set(c, "session_deadline_ms", val, where, line, &e);
	else if (!strcmp(key, "shutdown_grace")) st =
	    rcv_config_set(c, "shutdown_grace_ms", val, where, line, &e);
	else
	{
		st = mt_err_set(&e, MT_ERR_USAGE, "unknown setting '%s' (see receiver(8))", key);
	}
#undef U
#undef T
	if (st == MT_OK && !strcmp(key, "max_line") && c->max_line < 512)
		st = mt_err_set(&e, MT_ERR_USAGE, "max_line: at least 512 (RFC 5321)");
	if (st != MT_OK) {
		/* nested calls for the timeout_* aliases already carry a location */
		if (where && !strstr(e.msg, where))
			return mt_err_set(err, st, "%s:%d: %s", where, line, e.msg);
		return mt_err_set(err, st, "%s", e.msg);
	}
	return MT_OK;
}

mt_status rcv_config_load(struct rcv_config *c, const char *path, struct mt_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return mt_err_set(err, MT_ERR_USAGE, "%s: cannot open: %s", path, strerror(errno));
	free(c->path);
	c->path = mt_strdup(path);
	listen_from_file = false;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	int line = 0;
	mt_status st = MT_OK;
	while (st == MT_OK && (len = getline(&buf, &cap, f)) >= 0) {
		line++;
		if ((size_t)len != strlen(buf)) {
			st = mt_err_set(err, MT_ERR_USAGE, "%s:%d: NUL byte in line", path, line);
			break;
		}
		char *s = buf;
		/* a '#' starts a comment anywhere outside a value that needs it */
		char *hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		while (isspace((unsigned char)*s))
			s++;
		char *e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			st =
			    mt_err_set(err, MT_ERR_USAGE,
			               "%s:%d: expected 'key = value', got '%.60s'", path, line, s);
			break;
		}
		char *k = s, *v = eq + 1;
		char *ke = eq;
		while (ke > k && isspace((unsigned char)ke[-1]))
			ke--;
		*ke = '\0';
		while (isspace((unsigned char)*v))
			v++;
		if (!*k) {
			st = mt_err_set(err, MT_ERR_USAGE, "%s:%d: missing key before '='", path,
			                line);
			break;
		}
		st = rcv_config_set(c, k, v, path, line, err);
	}
	free(buf);
	fclose(f);
	return st;
}

mt_status rcv_config_finish(struct rcv_config *c, struct mt_err *err)
{
	if (c->nlisten == 0) {
		mt_status st = parse_listen(c, "127.0.0.1:2525", false, err);
		if (st != MT_OK)
			return st;
	}
	if (c->key && !c->cert)
		return mt_err_set(err, MT_ERR_USAGE, "key is set but cert is not");
	/* implicit last group: everyone else, TLS preferred (the ESA's default policy) */
	bool have_all = false;
	for (size_t i = 0; i < c->ngroups; i++)
		for (size_t k = 0; k < c->groups[i].nm; k++)
			if (c->groups[i].m[k].kind == RCV_M_ALL)
				have_all = true;
	if (!have_all) {
		struct mt_err e;
		mt_status st = parse_group(c, "DEFAULT policy=preferred match=all", 0, &e);
		if (st != MT_OK && !strstr(e.msg, "defined twice"))
			return mt_err_set(err, st, "%s", e.msg);
		if (st != MT_OK)
			return mt_err_set(err, MT_ERR_USAGE,
			                  "group DEFAULT must match all when it is defined");
	}
	return MT_OK;
}

/* ---- HAT lookup ---- */

static bool cidr_match(const struct rcv_match *m, const struct sockaddr *sa)
{
	const unsigned char *a;
	unsigned char mapped[4];
	if (sa->sa_family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		if (m->family != AF_INET)
			return false;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		a = (const unsigned char *)&s6->sin6_addr;
		if (m->family == AF_INET) {
			if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
				return false;
			memcpy(mapped, a + 12, 4);
			a = mapped;
		}
	} else {
		return false;
	}
	unsigned bits = m->prefix, i = 0;
	for (; bits >= 8; bits -= 8, i++)
		if (a[i] != m->addr[i])
			return false;
	if (bits) {
		unsigned char mask = (unsigned char)(0xff << (8 - bits));
		if ((a[i] & mask) != (m->addr[i] & mask))
			return false;
	}
	return true;
}

static bool name_match(const struct rcv_match *m, const char *name)
{
	if (!name || !*name)
		return false;
	if (m->kind == RCV_M_HOST)
		return !mt_strcasecmp(m->name, name);
	size_t nl = strlen(name), sl = strlen(m->name);
	return nl > sl && !mt_strcasecmp(name + nl - sl, m->name);
}

const struct rcv_group *rcv_hat_lookup(const struct rcv_config *c, const struct sockaddr *sa,
                                       const char *verified_name)
{
	for (size_t i = 0; i < c->ngroups; i++) {
		const struct rcv_group *g = &c->groups[i];
		for (size_t k = 0; k < g->nm; k++) {
			const struct rcv_match *m = &g->m[k];
			if (m->kind == RCV_M_ALL || (m->kind == RCV_M_CIDR && cidr_match(m, sa)) ||
			    ((m->kind == RCV_M_HOST || m->kind == RCV_M_SUFFIX) &&
			     name_match(m, verified_name)))
				return g;
		}
	}
	return NULL;
}

mt_status rcv_write_file_atomic(const char *path, const void *p, size_t n, int mode,
                                struct mt_err *err)
{
	size_t tl = strlen(path) + 32;
	char *tmp = malloc(tl);
	if (!tmp)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		mt_err_set(err, MT_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return MT_ERR_IO;
	}
	fchmod(fd, (mode_t)mode); /* the umask must not widen or narrow it */
	const char *q = p;
	size_t left = n;
	while (left > 0) {
		ssize_t w = write(fd, q, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			mt_err_set(err, MT_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			free(tmp);
			return MT_ERR_IO;
		}
		q += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		mt_err_set(err, MT_ERR_IO, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return MT_ERR_IO;
	}
	free(tmp);
	return MT_OK;
}
