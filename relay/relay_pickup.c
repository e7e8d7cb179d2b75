/* relay_pickup.c — the hand-off from the receiver: the relay takes the messages a receiver
 * spooled (receiver's <data_dir>/spool/new/<id>.eml) into its own queue.
 *
 * The receiver writes the envelope at the top of each spool file as "Return-Path: <s>"
 * and one "X-Mailtls-Envelope-To: <r>" per recipient; both are removed before the message
 * is queued (an envelope-to line would disclose Bcc recipients, and Return-Path belongs to
 * final delivery, RFC 5321 4.4). The spool file is unlinked only after the queue entry is
 * committed, so a crash in between queues the message twice rather than losing it.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "relay.h"

/* Take "<addr>" from a header value. */
static bool angle_addr(const char *v, size_t n, char *out, size_t outsz)
{
	const char *lt = memchr(v, '<', n);
	const char *gt = lt ? memchr(lt, '>', n - (size_t)(lt - v)) : NULL;
	if (!lt || !gt || (size_t)(gt - lt - 1) >= outsz)
		return false;
	memcpy(out, lt + 1, (size_t)(gt - lt - 1));
	out[gt - lt - 1] = '\0';
	return true;
}

static void pickup_one(const struct rl_config *c, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	struct mt_err err;
	if (mt_file_read(path, 512u << 20, &data, &len, &err) != MT_OK) {
		rl_maillog("Warning", "pickup: %s", err.msg);
		return;
	}
	char from[512] = "";
	bool have_from = false;
	struct rl_addrs rc = {0};
	size_t pos = 0;
	/* the envelope fields lead the header */
	for (;;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		if (!nl)
			break;
		size_t ll = (size_t)(nl - (data + pos));
		const char *l = data + pos;
		char a[512];
		if (ll > 12 && !strncasecmp(l, "Return-Path:", 12) && !have_from) {
			if (angle_addr(l, ll, from, sizeof from))
				have_from = true;
		} else if (ll > 22 && !strncasecmp(l, "X-Mailtls-Envelope-To:", 22)) {
			if (angle_addr(l, ll, a, sizeof a) && rl_addr_ok(a, false))
				rl_addrs_add(&rc, a, strlen(a));
		} else {
			break;
		}
		pos += ll + 1;
	}
	if (!have_from || rc.n == 0 || !rl_addr_ok(from, true)) {
		/* not ours to guess: move it aside so it is neither lost nor retried forever */
		char bad[1100];
		snprintf(bad, sizeof bad, "%s.bad", path);
		rename(path, bad);
		rl_maillog("Warning", "pickup: %s has no usable envelope (Return-Path and "
				      "X-Mailtls-Envelope-To); renamed to %s",
			   path, bad);
	} else {
		uint64_t mid;
		if (rl_queue_put_mem(c->queue_dir, data + pos, len - pos, from,
				     (const char *const *)rc.v, rc.n, 0, &mid, &err) == MT_OK) {
			rl_maillog("Info", "Start MID %" PRIu64 " ICID 0", mid);
			rl_maillog("Info", "MID %" PRIu64 " ICID 0 From: <%s>", mid, from);
			for (size_t i = 0; i < rc.n; i++)
				rl_maillog("Info", "MID %" PRIu64 " ICID 0 RID %zu To: <%s>", mid, i,
					   rc.v[i]);
			rl_maillog("Info", "MID %" PRIu64 " picked up from %s", mid, path);
			unlink(path);
		} else {
			rl_maillog("Warning", "pickup of %s: %s", path, err.msg);
		}
	}
	rl_addrs_free(&rc);
	free(data);
}

size_t rl_pickup(const struct rl_config *c)
{
	if (!c->pickup[0])
		return 0;
	DIR *d = opendir(c->pickup);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".eml"))
			continue;
		char p[1024];
		snprintf(p, sizeof p, "%s/%s", c->pickup, e->d_name);
		pickup_one(c, p);
		n++;
	}
	closedir(d);
	return n;
}
