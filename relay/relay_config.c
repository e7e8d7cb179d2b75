/* relay_config.c — the relay's `key = value` configuration and its destination controls
 * (the ESA's per-domain TLS settings plus a default). Errors name file:line. A destination
 * given twice keeps the last; `destination = default ...` changes the default control.
 * Memory: rl_config owns dests; rl_config_free() releases it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mailtls/dns.h"
#include "mailtls/net.h"
#include "relay.h"

void rl_config_init(struct rl_config *c)
{
	memset(c, 0, sizeof *c);
	c->workers = 16;
	c->max_conn = 10;
	unsigned def[] = {60, 300, 900, 3600};
	memcpy(c->retry, def, sizeof def);
	c->nretry = 4;
	c->max_lifetime = 5 * 86400;
	c->timeout_s = 30;
	c->tls_alert = true;
	c->mta_sts_port = 443;
	c->dests = calloc(1, sizeof *c->dests);
	if (c->dests) {
		c->ndests = 1;
		mt_strlcpy(c->dests[0].domain, "default", sizeof c->dests[0].domain);
		mt_policy_parse("Preferred", &c->dests[0].policy, NULL);
		c->dests[0].dane = c->dests[0].mta_sts = true;
	}
}

void rl_config_free(struct rl_config *c)
{
	free(c->dests);
	c->dests = NULL;
	c->ndests = 0;
}

mt_status rl_parse_duration(const char *s, long *out, struct mt_err *err)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	long mul = 1;
	if (end != s && *end) {
		switch (*end++) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		case 'w': mul = 7 * 86400; break;
		default: end = (char *)s; break;
		}
	}
	if (errno || end == s || *end || v < 0 || v > 365L * 86400 / mul)
		return mt_err_set(err, MT_ERR_USAGE, "bad duration '%s' (a number with s, m, h, d or w)",
				  s);
	*out = v * mul;
	return MT_OK;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcmp(v, "1"))
		return *out = true, true;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcmp(v, "0"))
		return *out = false, true;
	return false;
}

static mt_status parse_uint(const char *key, const char *v, unsigned lo, unsigned hi, unsigned *out,
			    struct mt_err *err)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi || *v == '-')
		return mt_err_set(err, MT_ERR_USAGE, "%s: '%s' is not a number from %u to %u", key, v,
				  lo, hi);
	*out = (unsigned)n;
	return MT_OK;
}

/* "[host]:port", "host:port", "[host]" (port 25) */
static mt_status parse_route(const char *v, struct rl_dest *d, struct mt_err *err)
{
	char host[256];
	unsigned port = 25;
	if (*v == '[') {
		const char *close = strchr(v, ']');
		if (!close || (size_t)(close - v - 1) >= sizeof host || close == v + 1)
			return mt_err_set(err, MT_ERR_USAGE, "route=%s: expected [host]:port", v);
		memcpy(host, v + 1, (size_t)(close - v - 1));
		host[close - v - 1] = '\0';
		if (close[1] == ':') {
			if (parse_uint("route port", close + 2, 1, 65535, &port, err) != MT_OK)
				return MT_ERR_USAGE;
		} else if (close[1]) {
			return mt_err_set(err, MT_ERR_USAGE, "route=%s: expected [host]:port", v);
		}
	} else {
		if (mt_net_split_hostport(v, host, sizeof host, &port, err) != MT_OK)
			return mt_err_set(err, MT_ERR_USAGE, "route=%s: expected [host]:port", v);
		if (!port)
			port = 25;
	}
	mt_strlcpy(d->route_host, host, sizeof d->route_host);
	d->route_port = port;
	return MT_OK;
}

mt_status rl_dest_parse(const char *text, struct rl_dest *d, struct mt_err *err)
{
	memset(d, 0, sizeof *d);
	d->dane = d->mta_sts = true;
	mt_policy_parse("Preferred", &d->policy, NULL);
	char buf[1024];
	if (mt_strlcpy(buf, text, sizeof buf) >= sizeof buf)
		return mt_err_set(err, MT_ERR_USAGE, "destination line too long");
	char *save = NULL;
	char *tok = strtok_r(buf, " \t", &save);
	if (!tok)
		return mt_err_set(err, MT_ERR_USAGE, "destination: a domain is needed");
	if (!strcasecmp(tok, "default")) {
		mt_strlcpy(d->domain, "default", sizeof d->domain);
	} else {
		if (strchr(tok, '=') || strchr(tok, '@'))
			return mt_err_set(err, MT_ERR_USAGE,
					  "destination: '%s' is not a domain (the line starts with "
					  "the domain, then key=value settings)",
					  tok);
		if (mt_dns_normalize(tok, d->domain, sizeof d->domain, err) != MT_OK)
			return MT_ERR_USAGE;
	}
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return mt_err_set(err, MT_ERR_USAGE, "destination %s: '%s' is not key=value",
					  d->domain, tok);
		*eq = '\0';
		const char *k = tok, *v = eq + 1;
		if (!strcasecmp(k, "tls")) {
			if (mt_policy_parse(v, &d->policy, err) != MT_OK)
				return MT_ERR_USAGE;
			if (d->policy.level == MT_LEVEL_FINGERPRINT)
				return mt_err_set(err, MT_ERR_USAGE,
						  "destination %s: fingerprint needs pins, which the "
						  "relay does not take yet",
						  d->domain);
			d->set_policy = true;
		} else if (!strcasecmp(k, "max_conn")) {
			if (parse_uint("max_conn", v, 1, 1000, &d->max_conn, err) != MT_OK)
				return MT_ERR_USAGE;
		} else if (!strcasecmp(k, "route")) {
			if (parse_route(v, d, err) != MT_OK)
				return MT_ERR_USAGE;
		} else if (!strcasecmp(k, "dane")) {
			if (!parse_bool(v, &d->dane))
				return mt_err_set(err, MT_ERR_USAGE, "dane=%s: yes or no", v);
		} else if (!strcasecmp(k, "mta_sts")) {
			if (!parse_bool(v, &d->mta_sts))
				return mt_err_set(err, MT_ERR_USAGE, "mta_sts=%s: yes or no", v);
		} else {
			return mt_err_set(err, MT_ERR_USAGE,
					  "destination %s: unknown setting '%s' (tls, max_conn, "
					  "route, dane, mta_sts)",
					  d->domain, k);
		}
	}
	return MT_OK;
}

static mt_status add_dest(struct rl_config *c, const struct rl_dest *d, struct mt_err *err)
{
	for (size_t i = 0; i < c->ndests; i++)
		if (!strcmp(c->dests[i].domain, d->domain)) {
			c->dests[i] = *d;
			return MT_OK;
		}
	if (c->ndests >= 100000)
		return mt_err_set(err, MT_ERR_USAGE, "too many destinations");
	struct rl_dest *nd = realloc(c->dests, (c->ndests + 1) * sizeof *nd);
	if (!nd)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	c->dests = nd;
	c->dests[c->ndests++] = *d;
	return MT_OK;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static mt_status set_key(struct rl_config *c, const char *k, char *v, struct mt_err *err)
{
	mt_status st = MT_OK;
#define STR(name, field)                                                                        \
	if (!strcmp(k, name)) {                                                                 \
		if (mt_strlcpy(c->field, v, sizeof c->field) >= sizeof c->field)                \
			return mt_err_set(err, MT_ERR_USAGE, "%s: value too long", k);          \
		return MT_OK;                                                                   \
	}
	STR("queue_dir", queue_dir)
	STR("hostname", hostname)
	STR("resolver", resolver)
	STR("cafile", cafile)
	STR("maillog", maillog)
	STR("attempts", attempts)
#undef STR
	if (!strcmp(k, "workers"))
		return parse_uint(k, v, 1, 1024, &c->workers, err);
	if (!strcmp(k, "max_conn"))
		return parse_uint(k, v, 1, 1000, &c->max_conn, err);
	if (!strcmp(k, "mta_sts_port"))
		return parse_uint(k, v, 1, 65535, &c->mta_sts_port, err);
	if (!strcmp(k, "timeout")) {
		unsigned t;
		if ((st = parse_uint(k, v, 1, 3600, &t, err)) == MT_OK)
			c->timeout_s = (int)t;
		return st;
	}
	if (!strcmp(k, "max_queue_lifetime"))
		return rl_parse_duration(v, &c->max_lifetime, err);
	if (!strcmp(k, "tls_alert")) {
		if (!parse_bool(v, &c->tls_alert))
			return mt_err_set(err, MT_ERR_USAGE, "tls_alert: yes or no");
		return MT_OK;
	}
	if (!strcmp(k, "retry")) {
		c->nretry = 0;
		char *save = NULL;
		for (char *t = strtok_r(v, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
			long s;
			if (c->nretry == sizeof c->retry / sizeof c->retry[0])
				return mt_err_set(err, MT_ERR_USAGE, "retry: at most 16 intervals");
			if ((st = rl_parse_duration(t, &s, err)) != MT_OK)
				return st;
			if (s < 1)
				return mt_err_set(err, MT_ERR_USAGE, "retry: intervals are at least 1 s");
			c->retry[c->nretry++] = (unsigned)s;
		}
		if (!c->nretry)
			return mt_err_set(err, MT_ERR_USAGE, "retry: at least one interval");
		return MT_OK;
	}
	if (!strcmp(k, "alert_to")) {
		c->nalert_to = 0;
		char *save = NULL;
		for (char *t = strtok_r(v, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
			if (c->nalert_to == 8)
				return mt_err_set(err, MT_ERR_USAGE, "alert_to: at most 8 addresses");
			if (!strchr(t, '@') || strlen(t) >= sizeof c->alert_to[0])
				return mt_err_set(err, MT_ERR_USAGE, "alert_to: '%s' is not an address",
						  t);
			mt_strlcpy(c->alert_to[c->nalert_to++], t, sizeof c->alert_to[0]);
		}
		return MT_OK;
	}
	if (!strcmp(k, "destination")) {
		struct rl_dest d;
		if ((st = rl_dest_parse(v, &d, err)) != MT_OK)
			return st;
		if (!strcmp(d.domain, "default") && !d.set_policy)
			d.policy = c->dests[0].policy;
		return add_dest(c, &d, err);
	}
	return mt_err_set(err, MT_ERR_USAGE, "unknown setting '%s'", k);
}

mt_status rl_config_load(struct rl_config *c, const char *path, struct mt_err *err)
{
	if (!c->dests)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	FILE *f = fopen(path, "r");
	if (!f)
		return mt_err_set(err, MT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	mt_strlcpy(c->path, path, sizeof c->path);
	char line[2048];
	unsigned ln = 0;
	mt_status st = MT_OK;
	while (fgets(line, sizeof line, f)) {
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			st = mt_err_set(err, MT_ERR_USAGE, "%s:%u: line too long", path, ln);
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			st = mt_err_set(err, MT_ERR_USAGE, "%s:%u: expected key = value", path, ln);
			break;
		}
		*eq = '\0';
		char *k = trim(s), *v = trim(eq + 1);
		struct mt_err e2;
		if (set_key(c, k, v, &e2) != MT_OK) {
			st = mt_err_set(err, MT_ERR_USAGE, "%s:%u: %s", path, ln, e2.msg);
			break;
		}
	}
	if (st == MT_OK && ferror(f))
		st = mt_err_set(err, MT_ERR_IO, "reading %s: %s", path, strerror(errno));
	fclose(f);
	return st;
}

mt_status rl_config_finish(struct rl_config *c, struct mt_err *err)
{
	if (!c->queue_dir[0])
		return mt_err_set(err, MT_ERR_USAGE,
				  "no queue directory: set queue_dir in the config (-c) or give -q DIR");
	if (!c->hostname[0]) {
		if (gethostname(c->hostname, sizeof c->hostname) != 0 || !c->hostname[0])
			mt_strlcpy(c->hostname, "localhost", sizeof c->hostname);
	}
	if (!c->maillog[0])
		snprintf(c->maillog, sizeof c->maillog, "%.400s/mail.log", c->queue_dir);
	if (!c->attempts[0])
		snprintf(c->attempts, sizeof c->attempts, "%.400s/attempts.jsonl", c->queue_dir);
	return MT_OK;
}

const struct rl_dest *rl_config_dest(const struct rl_config *c, const char *domain)
{
	for (size_t i = 1; i < c->ndests; i++)
		if (!strcasecmp(c->dests[i].domain, domain))
			return &c->dests[i];
	return &c->dests[0];
}

void rl_addr_domain(const char *addr, char *out, size_t outsz)
{
	const char *at = strrchr(addr, '@');
	mt_strlcpy(out, at ? at + 1 : "", outsz);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}
