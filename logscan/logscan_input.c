/* logscan_input.c — see logscan_input.h.  zlib's gzread reads non-gzip input unchanged, so
 * one code path serves plain files, .gz files and pipes. */
#include "logscan_input.h"
#include "logscan_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static mt_status reopen(struct mt_ls_reader *r, struct mt_err *err)
{
	int fd;
	if (strcmp(r->path, "-") == 0) {
		fd = dup(0);
	} else {
		fd = open(r->path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot open %s: %s", r->path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			close(fd);
			return mt_err_set(err, MT_ERR_IO, "cannot read %s: is a directory", r->path);
		}
		r->dev = st.st_dev;
		r->ino = st.st_ino;
	}
	gzFile gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		return mt_err_set(err, MT_ERR_NOMEM, "cannot read %s: out of memory", r->path);
	}
	gzbuffer(gz, 256 * 1024);
	r->gz = gz;
	r->fd = fd;
	r->eof = false;
	return MT_OK;
}

mt_status mt_ls_reader_open(struct mt_ls_reader *r, const char *path, size_t bufsize, bool follow,
			    volatile sig_atomic_t *stop, struct mt_err *err)
{
	memset(r, 0, sizeof *r);
	r->fd = -1;
	r->follow = follow;
	r->stop = stop;
	r->cap = bufsize < 4096 ? 4096 : bufsize;
	r->soft = r->cap >= 2 * (size_t)MT_LS_READ_MAX ? MT_LS_READ_MAX : r->cap;
	r->path = mt_strdup(path);
	r->buf = calloc(1, r->cap + MT_LS_PAD);
	if (!r->path || !r->buf) {
		mt_ls_reader_close(r);
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	}
	mt_status st = reopen(r, err);
	if (st != MT_OK) {
		free(r->path);
		free(r->buf);
		r->path = r->buf = NULL;
	}
	return st;
}

void mt_ls_reader_close(struct mt_ls_reader *r)
{
	if (r->gz)
		gzclose(r->gz); /* closes fd too */
	r->gz = NULL;
	free(r->buf);
	free(r->path);
	r->buf = r->path = NULL;
}

/* In follow mode at end of file: wait, and reopen when the path now names another file or
 * the file was truncated (rotation by rename+create or by copytruncate). */
static int follow_wait(struct mt_ls_reader *r, struct mt_err *err)
{
	for (;;) {
		if (r->stop && *r->stop)
			return 0;
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (strcmp(r->path, "-") == 0) {
			gzclearerr(r->gz);
			return 1;
		}
		struct stat st, cur;
		if (stat(r->path, &st) == 0 && fstat(r->fd, &cur) == 0) {
			off_t pos = lseek(r->fd, 0, SEEK_CUR);
			if (st.st_ino != r->ino || st.st_dev != r->dev || (st.st_ino == cur.st_ino && st.st_size < pos)) {
				/* drain what the old file still holds, then switch */
				gzclose(r->gz);
				r->gz = NULL;
				mt_status s = reopen(r, err);
				if (s != MT_OK)
					continue; /* not recreated yet */
				r->rotations++;
				return 1;
			}
			if (st.st_size > pos) {
				gzclearerr(r->gz);
				return 1;
			}
		}
	}
}

int mt_ls_reader_line(struct mt_ls_reader *r, const char **line, size_t *len)
{
	for (;;) {
		char *p = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;
		if (nl) {
			r->start += (size_t)(nl - p) + 1;
			if (r->skipping) {
				r->skipping = false;
				continue;
			}
			*line = p;
			*len = (size_t)(nl - p);
			return 1;
		}
		if (r->eof && !r->follow) {
			if (avail && !r->skipping) {
				r->start = r->end;
				*line = p;
				*len = avail;
				return 1;
			}
			return 0;
		}
		return 2;
	}
}

size_t mt_ls_reader_lines(struct mt_ls_reader *r, struct mt_ls_line *out, size_t max)
{
	if (r->skipping || !max)
		return 0; /* the slow path drops the rest of an overlong line */
	const char *buf = r->buf;
	size_t start = r->start, pos = start, end = r->end, k = 0;
#ifdef __SSE2__
	/* 64 bytes per step: a bit per newline, then one line per set bit (lines are ~100
	 * bytes, so a memchr call per line spent more on its setup than on the search) */
	for (; pos + 64 <= end; pos += 64) {
		uint64_t m = mt_ls_mask64(buf + pos, '\n');
		while (m) {
			size_t at = pos + (size_t)__builtin_ctzll(m);
			out[k].p = buf + start;
			out[k].n = at - start;
			start = at + 1;
			if (++k == max)
				goto done;
			m &= m - 1;
		}
	}
#endif
	while (k < max && pos < end) {
		const char *q = memchr(buf + pos, '\n', end - pos);
		if (!q)
			break;
		size_t at = (size_t)(q - buf);
		out[k].p = buf + start;
		out[k].n = at - start;
		k++;
		start = pos = at + 1;
	}
done:
	r->start = start;
	return k;
}

int mt_ls_reader_fill(struct mt_ls_reader *r, struct mt_err *err)
{
	/* make room only when the buffer is full: lines already returned stay where they are
	 * until then, which is what lets a pipeline swap buffers instead (mt_ls_reader_swap) */
	if (r->end == r->cap || mt_ls_reader_recycle(r)) {
		if (r->start) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		} else {
			/* the partial line fills the buffer: drop it up to its newline */
			if (!r->skipping)
				r->overlong++;
			r->skipping = true;
			r->end = 0;
		}
	}
	size_t room = (r->end < r->soft ? r->soft : r->cap) - r->end;
	if (room > MT_LS_READ_MAX)
		room = MT_LS_READ_MAX;
	int n = gzread(r->gz, r->buf + r->end, (unsigned)room);
	if (n < 0) {
		int e;
		const char *m = gzerror(r->gz, &e);
		mt_err_set(err, MT_ERR_IO, "cannot read %s: %s", r->path, e == Z_ERRNO ? strerror(errno) : m);
		return -1;
	}
	if (n == 0) {
		int e;
		gzerror(r->gz, &e);
		if (e == Z_BUF_ERROR) {
			/* truncated gzip member: what was read stays counted, the rest is lost */
			mt_err_set(err, MT_ERR_IO, "%s: unexpected end of compressed data", r->path);
			r->eof = true;
			r->follow = false;
			r->truncated = true;
			return 0;
		}
		if (r->follow) {
			int w = follow_wait(r, err);
			if (w == 0) {
				r->follow = false;
				r->eof = true;
			}
			return 0;
		}
		r->eof = true;
		return 0;
	}
	r->end += (size_t)n;
	r->bytes += (uint64_t)n;
	return 0;
}

int mt_ls_reader_next(struct mt_ls_reader *r, const char **line, size_t *len, struct mt_err *err)
{
	for (;;) {
		int rc = mt_ls_reader_line(r, line, len);
		if (rc != 2)
			return rc;
		if (mt_ls_reader_fill(r, err) < 0)
			return -1;
	}
}

char *mt_ls_reader_swap(struct mt_ls_reader *r, char *buf)
{
	char *old = r->buf;
	size_t avail = r->end - r->start;
	if (buf && avail)
		memcpy(buf, old + r->start, avail);
	r->buf = buf;
	r->start = 0;
	r->end = buf ? avail : 0;
	return old;
}
