/* receiver_spool.c — one file per message, written atomically: the message goes to
 * spool/tmp/<id> as it arrives, and only after fsync() is it renamed into spool/new/<id>.eml
 * (and the directory synced). A crash or SIGTERM leaves at most a temp file, which the next
 * start removes; spool/new never holds a half-written message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "receiver.h"

#define SPOOL_FLUSH 65536

static mt_status mkdir_p(const char *p, struct mt_err *err)
{
	if (mkdir(p, 0700) == 0 || errno == EEXIST)
		return MT_OK;
	return mt_err_set(err, MT_ERR_IO, "cannot create %s: %s", p, strerror(errno));
}

mt_status rcv_spool_init(const char *dir, struct mt_err *err)
{
	char p[512];
	mt_status st;
	snprintf(p, sizeof p, "%s/spool", dir);
	if ((st = mkdir_p(p, err)) != MT_OK)
		return st;
	snprintf(p, sizeof p, "%s/spool/new", dir);
	if ((st = mkdir_p(p, err)) != MT_OK)
		return st;
	snprintf(p, sizeof p, "%s/spool/tmp", dir);
	if ((st = mkdir_p(p, err)) != MT_OK)
		return st;
	DIR *d = opendir(p);
	if (!d)
		return mt_err_set(err, MT_ERR_IO, "cannot read %s: %s", p, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char f[800];
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		unlink(f); /* an interrupted message: never acknowledged, so never lost */
	}
	closedir(d);
	return MT_OK;
}

mt_status rcv_spool_open(const char *dir, const char *qid, struct rcv_spool_msg *m,
			 struct mt_err *err)
{
	memset(m, 0, sizeof *m);
	m->fd = -1;
	snprintf(m->tmp, sizeof m->tmp, "%s/spool/tmp/%s", dir, qid);
	snprintf(m->final, sizeof m->final, "%s/spool/new/%s.eml", dir, qid);
	m->fd = open(m->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (m->fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot create %s: %s", m->tmp, strerror(errno));
	mt_buf_init(&m->buf, SPOOL_FLUSH * 2);
	return MT_OK;
}

static void flush(struct rcv_spool_msg *m)
{
	const char *p = m->buf.data;
	size_t n = m->buf.len;
	while (n > 0 && !m->failed) {
		ssize_t w = write(m->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			m->failed = true;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	mt_buf_reset(&m->buf);
}

void rcv_spool_write(struct rcv_spool_msg *m, const void *p, size_t n)
{
	if (m->fd < 0 || m->failed)
		return;
	if (m->buf.len + n > SPOOL_FLUSH)
		flush(m);
	if (n > SPOOL_FLUSH) {
		mt_buf_reset(&m->buf);
		const char *q = p;
		while (n > 0 && !m->failed) {
			ssize_t w = write(m->fd, q, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				m->failed = true;
			else
				q += w, n -= (size_t)w;
		}
		return;
	}
	if (mt_buf_add(&m->buf, p, n) != MT_OK)
		m->failed = true;
}

mt_status rcv_spool_commit(struct rcv_spool_msg *m, struct mt_err *err)
{
	flush(m);
	mt_buf_free(&m->buf);
	if (m->failed || fsync(m->fd) != 0) {
		int e = errno;
		rcv_spool_abort(m);
		return mt_err_set(err, MT_ERR_IO, "spool write failed: %s", strerror(e));
	}
	close(m->fd);
	m->fd = -1;
	if (rename(m->tmp, m->final) != 0) {
		int e = errno;
		unlink(m->tmp);
		return mt_err_set(err, MT_ERR_IO, "cannot rename %s: %s", m->tmp, strerror(e));
	}
	/* make the rename itself durable before the 250 goes out */
	char dir[512];
	mt_strlcpy(dir, m->final, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return MT_OK;
}

void rcv_spool_abort(struct rcv_spool_msg *m)
{
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
		unlink(m->tmp);
	}
	mt_buf_free(&m->buf);
}
