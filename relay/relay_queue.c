/* relay_queue.c — the durable queue: one message file and one envelope file per MID.
 *
 * A put writes tmp/<mid>.msg, fsyncs it and renames it to msg/<mid>; then the envelope the
 * same way to env/<mid>, and syncs the directories. The envelope's rename is the commit
 * point: a message is queued (and only then acknowledged) when env/<mid> exists, so a crash
 * at any moment leaves either a queued message or an orphan the runner removes. State
 * updates rewrite the envelope with write-fsync-rename; a lost update means a recipient is
 * tried again (at-least-once). The message file never changes after the put, so its inode
 * carries the per-message lock (flock) that keeps `relay delete` off a message in flight.
 * MIDs come from a counter file under flock, shared by every process on the queue.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"

static const char *const state_names[] = {"pending", "done", "failed"};

static mt_status mkdir1(const char *dir, const char *sub, struct mt_err *err)
{
	char p[700];
	snprintf(p, sizeof p, "%s%s%s", dir, sub[0] ? "/" : "", sub);
	if (mkdir(p, 0700) == 0 || errno == EEXIST)
		return MT_OK;
	return mt_err_set(err, MT_ERR_IO, "cannot create %s: %s", p, strerror(errno));
}

mt_status rl_queue_init(const char *dir, struct mt_err *err)
{
	mt_status st;
	if ((st = mkdir1(dir, "", err)) != MT_OK || (st = mkdir1(dir, "tmp", err)) != MT_OK ||
	    (st = mkdir1(dir, "msg", err)) != MT_OK || (st = mkdir1(dir, "env", err)) != MT_OK)
		return st;
	return MT_OK;
}

static void sync_dir(const char *dir, const char *sub)
{
	char p[700];
	snprintf(p, sizeof p, "%s/%s", dir, sub);
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

static mt_status write_all(int fd, const char *p, size_t n, const char *what, struct mt_err *err)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return mt_err_set(err, MT_ERR_IO, "writing %s: %s", what, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return MT_OK;
}

static mt_status next_mid(const char *dir, uint64_t *mid, struct mt_err *err)
{
	char p[700];
	snprintf(p, sizeof p, "%s/mid.seq", dir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot open %s: %s", p, strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return mt_err_set(err, MT_ERR_IO, "cannot lock %s: %s", p, strerror(errno));
	}
	char buf[32] = {0};
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	uint64_t v = n > 0 ? strtoull(buf, NULL, 10) : 0;
	if (v == 0)
		v = 1;
	for (;;) { /* never reuse a MID still in the queue (the counter may have been lost) */
		char q[700];
		snprintf(q, sizeof q, "%s/msg/%" PRIu64, dir, v);
		if (access(q, F_OK) != 0)
			break;
		v++;
	}
	int len = snprintf(buf, sizeof buf, "%" PRIu64 "\n", v + 1);
	mt_status st = MT_OK;
	if (pwrite(fd, buf, (size_t)len, 0) != len || ftruncate(fd, len) != 0 || fdatasync(fd) != 0)
		st = mt_err_set(err, MT_ERR_IO, "cannot update %s: %s", p, strerror(errno));
	close(fd); /* releases the lock */
	*mid = v;
	return st;
}

static mt_status env_text(const struct rl_msg *m, struct mt_buf *b)
{
	mt_buf_addf(b, "mailtls-relay-envelope 1\nmid %" PRIu64 "\ncreated %lld\nnext %lld\n"
		       "attempts %u\nsize %ld\nflags %s%s\nfrom %s\nlast %s\n",
		    m->mid, (long long)m->created, (long long)m->next_try, m->attempts, m->size,
		    m->is_alert ? "alert " : "", m->is_dsn ? "dsn" : "", m->from, m->last);
	for (size_t i = 0; i < m->nrcpts; i++)
		mt_buf_addf(b, "rcpt %s %d %s\nreply %s\n", state_names[m->rcpts[i].state],
			    m->rcpts[i].dsn_sent, m->rcpts[i].addr, m->rcpts[i].reply);
	return mt_buf_addf(b, "end\n");
}

static mt_status write_env(const char *dir, const struct rl_msg *m, bool sync_dirs,
			   struct mt_err *err)
{
	struct mt_buf b;
	mt_buf_init(&b, 16u << 20);
	if (env_text(m, &b) != MT_OK) {
		mt_buf_free(&b);
		return mt_err_set(err, MT_ERR_NOMEM, "envelope of MID %" PRIu64 " too large", m->mid);
	}
	char tmp[700], dst[700];
	snprintf(tmp, sizeof tmp, "%s/tmp/%" PRIu64 ".env.%d", dir, m->mid, (int)gettid());
	snprintf(dst, sizeof dst, "%s/env/%" PRIu64, dir, m->mid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	mt_status st;
	if (fd < 0) {
		st = mt_err_set(err, MT_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
	} else {
		st = write_all(fd, b.data, b.len, tmp, err);
		if (st == MT_OK && fsync(fd) != 0)
			st = mt_err_set(err, MT_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
		close(fd);
		if (st == MT_OK && rename(tmp, dst) != 0)
			st = mt_err_set(err, MT_ERR_IO, "rename %s: %s", dst, strerror(errno));
		if (st != MT_OK)
			unlink(tmp);
		else if (sync_dirs)
			sync_dir(dir, "env");
	}
	mt_buf_free(&b);
	return st;
}

/* A source of message bytes: an fd or memory. */
struct src {
	int fd;
	const char *data;
	size_t len;
};

static mt_status put(const char *dir, struct src *s, const char *from, const char *const *rcpts,
		     size_t nrcpts, unsigned flags, uint64_t *mid_out, struct mt_err *err)
{
	if (nrcpts == 0)
		return mt_err_set(err, MT_ERR_BADINPUT, "no recipients");
	struct rl_msg m = {0};
	mt_status st = next_mid(dir, &m.mid, err);
	if (st != MT_OK)
		return st;
	char tmp[700], dst[700];
	snprintf(tmp, sizeof tmp, "%s/tmp/%" PRIu64 ".msg", dir, m.mid);
	snprintf(dst, sizeof dst, "%s/msg/%" PRIu64, dir, m.mid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
	long size = 0;
	if (s->fd >= 0) {
		char buf[65536];
		for (;;) {
			ssize_t n = read(s->fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				st = mt_err_set(err, MT_ERR_IO, "reading the message: %s", strerror(errno));
				break;
			}
			if (n == 0)
				break;
			if ((st = write_all(fd, buf, (size_t)n, tmp, err)) != MT_OK)
				break;
			size += n;
		}
	} else {
		st = write_all(fd, s->data, s->len, tmp, err);
		size = (long)s->len;
	}
	if (st == MT_OK && size == 0)
		st = mt_err_set(err, MT_ERR_BADINPUT, "the message is empty");
	if (st == MT_OK && fsync(fd) != 0)
		st = mt_err_set(err, MT_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
	close(fd);
	if (st == MT_OK && rename(tmp, dst) != 0)
		st = mt_err_set(err, MT_ERR_IO, "rename to %s: %s", dst, strerror(errno));
	if (st != MT_OK) {
		unlink(tmp);
		return st;
	}
	sync_dir(dir, "msg");

	m.created = time(NULL);
	m.next_try = 0;
	m.size = size;
	m.is_alert = flags & RL_PUT_ALERT;
	m.is_dsn = flags & RL_PUT_DSN;
	mt_strlcpy(m.from, from ? from : "", sizeof m.from);
	m.rcpts = calloc(nrcpts, sizeof *m.rcpts);
	if (!m.rcpts) {
		unlink(dst);
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	}
	m.nrcpts = nrcpts;
	for (size_t i = 0; i < nrcpts; i++)
		mt_strlcpy(m.rcpts[i].addr, rcpts[i], sizeof m.rcpts[i].addr);
	st = write_env(dir, &m, true, err);
	if (st != MT_OK)
		unlink(dst);
	free(m.rcpts);
	if (st == MT_OK)
		*mid_out = m.mid;
	return st;
}

mt_status rl_queue_put(const char *dir, int fd, const char *from, const char *const *rcpts,
		       size_t nrcpts, unsigned flags, uint64_t *mid, struct mt_err *err)
{
	struct src s = {fd, NULL, 0};
	return put(dir, &s, from, rcpts, nrcpts, flags, mid, err);
}

mt_status rl_queue_put_mem(const char *dir, const char *data, size_t len, const char *from,
			   const char *const *rcpts, size_t nrcpts, unsigned flags, uint64_t *mid,
			   struct mt_err *err)
{
	struct src s = {-1, data, len};
	return put(dir, &s, from, rcpts, nrcpts, flags, mid, err);
}

mt_status rl_queue_save(const char *dir, const struct rl_msg *m, struct mt_err *err)
{
	return write_env(dir, m, false, err);
}

void rl_msg_free(struct rl_msg *m)
{
	free(m->rcpts);
	m->rcpts = NULL;
	m->nrcpts = 0;
}

static char *val(char *line, const char *key)
{
	size_t k = strlen(key);
	if (strncmp(line, key, k) || (line[k] != ' ' && line[k] != '\0'))
		return NULL;
	return line[k] ? line + k + 1 : line + k;
}

mt_status rl_queue_load(const char *dir, uint64_t mid, struct rl_msg *m, struct mt_err *err)
{
	memset(m, 0, sizeof *m);
	char p[700];
	snprintf(p, sizeof p, "%s/env/%" PRIu64, dir, mid);
	FILE *f = fopen(p, "r");
	if (!f)
		return mt_err_set(err, MT_ERR_IO,
				  "MID %" PRIu64 ": %s", mid, strerror(errno));
	char line[2048];
	bool head = false, end = false;
	size_t cap = 0;
	mt_status st = MT_OK;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *v;
		if (!head) {
			if (strcmp(line, "mailtls-relay-envelope 1"))
				break;
			head = true;
		} else if ((v = val(line, "mid"))) {
			m->mid = strtoull(v, NULL, 10);
		} else if ((v = val(line, "created"))) {
			m->created = (time_t)strtoll(v, NULL, 10);
		} else if ((v = val(line, "next"))) {
			m->next_try = (time_t)strtoll(v, NULL, 10);
		} else if ((v = val(line, "attempts"))) {
			m->attempts = (unsigned)strtoul(v, NULL, 10);
		} else if ((v = val(line, "size"))) {
			m->size = strtol(v, NULL, 10);
		} else if ((v = val(line, "flags"))) {
			m->is_alert = strstr(v, "alert") != NULL;
			m->is_dsn = strstr(v, "dsn") != NULL;
		} else if ((v = val(line, "from"))) {
			mt_strlcpy(m->from, v, sizeof m->from);
		} else if ((v = val(line, "last"))) {
			mt_strlcpy(m->last, v, sizeof m->last);
		} else if ((v = val(line, "rcpt"))) {
			if (m->nrcpts == cap) {
				size_t nc = cap ? cap * 2 : 4;
				struct rl_rcpt *nr = realloc(m->rcpts, nc * sizeof *nr);
				if (!nr) {
					st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
					break;
				}
				m->rcpts = nr;
				cap = nc;
			}
			struct rl_rcpt *r = &m->rcpts[m->nrcpts];
			memset(r, 0, sizeof *r);
			char state[16];
			int dsn = 0, used = 0;
			if (sscanf(v, "%15s %d %n", state, &dsn, &used) < 2 || !used) {
				head = false;
				break;
			}
			for (int i = 0; i < 3; i++)
				if (!strcmp(state, state_names[i]))
					r->state = (enum rl_rcpt_state)i;
			r->dsn_sent = dsn != 0;
			mt_strlcpy(r->addr, v + used, sizeof r->addr);
			m->nrcpts++;
		} else if ((v = val(line, "reply"))) {
			if (m->nrcpts)
				mt_strlcpy(m->rcpts[m->nrcpts - 1].reply, v, sizeof m->rcpts[0].reply);
		} else if (!strcmp(line, "end")) {
			end = true;
			break;
		}
	}
	fclose(f);
	if (st != MT_OK)
		return st;
	if (!head || !end || m->mid != mid || m->nrcpts == 0) {
		rl_msg_free(m);
		return mt_err_set(err, MT_ERR_BADINPUT, "MID %" PRIu64 ": damaged envelope %s", mid,
				  p);
	}
	return MT_OK;
}

mt_status rl_queue_remove(const char *dir, uint64_t mid, struct mt_err *err)
{
	char p[700];
	snprintf(p, sizeof p, "%s/env/%" PRIu64, dir, mid);
	if (unlink(p) != 0)
		return mt_err_set(err, MT_ERR_IO,
				  "MID %" PRIu64 ": %s", mid,
				  errno == ENOENT ? "not in the queue" : strerror(errno));
	snprintf(p, sizeof p, "%s/msg/%" PRIu64, dir, mid);
	unlink(p);
	return MT_OK;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

mt_status rl_queue_list(const char *dir, uint64_t **mids, size_t *n, struct mt_err *err)
{
	*mids = NULL;
	*n = 0;
	char p[700];
	snprintf(p, sizeof p, "%s/env", dir);
	DIR *d = opendir(p);
	if (!d)
		return mt_err_set(err, MT_ERR_IO, "cannot read %s: %s", p, strerror(errno));
	size_t cap = 0;
	struct dirent *e;
	mt_status st = MT_OK;
	while ((e = readdir(d))) {
		char *end;
		uint64_t v = strtoull(e->d_name, &end, 10);
		if (!v || *end)
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			uint64_t *nm = realloc(*mids, nc * sizeof *nm);
			if (!nm) {
				st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
				break;
			}
			*mids = nm;
			cap = nc;
		}
		(*mids)[(*n)++] = v;
	}
	closedir(d);
	if (*n)
		qsort(*mids, *n, sizeof **mids, cmp_u64);
	return st;
}

int rl_queue_open_msg(const char *dir, uint64_t mid)
{
	char p[700];
	snprintf(p, sizeof p, "%s/msg/%" PRIu64, dir, mid);
	return open(p, O_RDONLY | O_CLOEXEC);
}

int rl_queue_lock_msg(const char *dir, uint64_t mid)
{
	int fd = rl_queue_open_msg(dir, mid);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -2;
	}
	return fd;
}

/* At the runner's start: temp files of interrupted puts and saves, and message files
 * whose envelope never landed (an interrupted put), once they are an hour old. */
void rl_queue_cleanup(const char *dir)
{
	char p[700];
	snprintf(p, sizeof p, "%s/tmp", dir);
	DIR *d = opendir(p);
	struct dirent *e;
	time_t now = time(NULL);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char f[1000];
		struct stat sb;
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		if (stat(f, &sb) == 0 && now - sb.st_mtime > 3600)
			unlink(f);
	}
	if (d)
		closedir(d);
	snprintf(p, sizeof p, "%s/msg", dir);
	d = opendir(p);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char f[1000], envp[1000];
		struct stat sb;
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		snprintf(envp, sizeof envp, "%s/env/%s", dir, e->d_name);
		if (access(envp, F_OK) != 0 && stat(f, &sb) == 0 && now - sb.st_mtime > 3600)
			unlink(f);
	}
	if (d)
		closedir(d);
}
