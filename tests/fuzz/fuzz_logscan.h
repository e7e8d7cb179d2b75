/* fuzz_logscan.h — the body shared by the per-format logscan harnesses: input is split into
 * lines, each parsed with one format's parser directly (header first, as logscan does) and
 * with the format-detecting parser, and fed to a small correlation table.  Each line is also
 * parsed as logscan reads it, from a buffer with MT_LS_PAD readable bytes after it (the
 * padded fast paths and the cached prefixes), and must give the same result and fields as
 * the unpadded parse: a difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../logscan/logscan_corr.h"
#include "../../logscan/logscan_input.h"
#include "../unit/logscan_ev_eq.h"

static void nop_conn(void *c, const struct mt_ls_conn *x) { (void)c; (void)x; }
static void nop_msg(void *c, const struct mt_ls_msg *x) { (void)c; (void)x; }
static void nop_req(void *c, const struct mt_ls_reqfail *x) { (void)c; (void)x; }

typedef int (*fuzz_ls_parser)(const struct mt_ls_hdr *h, struct mt_ls_event *ev);

static int fuzz_logscan_run(const uint8_t *data, size_t size, int fmt, fuzz_ls_parser parse)
{
	struct mt_ls_sink s = {nop_conn, nop_msg, nop_req, NULL};
	struct mt_ls_corr c;
	if (mt_ls_corr_init(&c, 8, 8, &s) != 0)
		return 0;
	struct mt_ls_parse_opts o = {.year = 2024}, po = {.year = 2024, .padded = true};
	size_t off = 0;
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		/* an exact-size copy so ASan catches any read past the line */
		char *line = malloc(len ? len : 1);
		memcpy(line, data + off, len);
		struct mt_ls_hdr h;
		struct mt_ls_event ev;
		if (mt_ls_parse_hdr(line, len, &o, &h)) {
			h.fmt = fmt;
			if (parse(&h, &ev) == MT_LS_EVENT)
				mt_ls_corr_event(&c, &ev);
		}
		int r = mt_ls_parse_line(line, len, &o, &ev);
		if (r == MT_LS_EVENT)
			mt_ls_corr_event(&c, &ev);
		/* Postfix 3.11's tls= split: each event's, and the whole line (its exact-size copy)
		 * read as such a value */
		struct mt_ls_tls_status st;
		if (r == MT_LS_EVENT && ev.level.n)
			mt_ls_postfix_tls_status(ev.level, &st);
		if (mt_ls_postfix_tls_status((struct mt_ls_str){line, len}, &st) && !st.level.present && !st.requiretls.present)
			abort(); /* accepted means a feature was read */
		/* the padded parse: exactly MT_LS_PAD bytes after the line (ASan sees past them) */
		char *pl = malloc(len + MT_LS_PAD);
		memcpy(pl, data + off, len);
		memset(pl + len, off & 1 ? ':' : 0, MT_LS_PAD);
		struct mt_ls_event pev;
		int pr = mt_ls_parse_line(pl, len, &po, &pev);
		if (pr != r || (r == MT_LS_EVENT && !ls_ev_eq(&ev, &pev)))
			abort();
		free(pl);
		free(line);
		off += len + 1;
	}
	mt_ls_corr_flush(&c);
	mt_ls_corr_free(&c);
	return 0;
}
