/* receiver_spool.c — one file per message, written atomically: the message goes to
 * spool/tmp/<id> as it arrives, and only after fsync() is it renamed into spool/new/<id>.eml
 * (and the directory synced). A crash or SIGTERM leaves at most a temp file, which the next
 * start removes; spool/new never holds a half-written message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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

/* ---- commits in worker threads ----
 * fsync() takes milliseconds; done inline it would stall every session of the event loop.
 * A committing session waits (its 250 is not sent yet) while a worker flushes, syncs and
 * renames; the result comes back through an eventfd. The job owns the file descriptor and
 * buffer, so a session that disappears meanwhile leaves nothing dangling. */
struct cjob {
	struct cjob *next;
	struct rcv_spool_msg m;
	struct rcv_commit_res res;
};

static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ccv = PTHREAD_COND_INITIALIZER;
static struct cjob *ctodo_head, *ctodo_tail, *cdone;
static int cefd = -1, cthreads_n, cbusy;
static bool cstop;
static pthread_t cthreads[8];

static void *commit_worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&cmu);
		while (!ctodo_head && !cstop)
			pthread_cond_wait(&ccv, &cmu);
		if (!ctodo_head && cstop) {
			pthread_mutex_unlock(&cmu);
			return NULL;
		}
		struct cjob *j = ctodo_head;
		ctodo_head = j->next;
		if (!ctodo_head)
			ctodo_tail = NULL;
		cbusy++;
		pthread_mutex_unlock(&cmu);
		struct mt_err e;
		mt_strlcpy(j->res.final, j->m.final, sizeof j->res.final);
		j->res.st = rcv_spool_commit(&j->m, &e);
		if (j->res.st != MT_OK)
			mt_strlcpy(j->res.err, e.msg, sizeof j->res.err);
		pthread_mutex_lock(&cmu);
		cbusy--;
		j->next = cdone;
		cdone = j;
		pthread_cond_broadcast(&ccv);
		pthread_mutex_unlock(&cmu);
		uint64_t one = 1;
		ssize_t w = write(cefd, &one, sizeof one);
		(void)w;
	}
}

mt_status rcv_commit_start(int n, int *notify_fd, struct mt_err *err)
{
	cefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cefd < 0)
		return mt_err_set(err, MT_ERR_IO, "eventfd: %s", strerror(errno));
	if (n < 1)
		n = 1;
	if (n > 8)
		n = 8;
	cstop = false;
	for (cthreads_n = 0; cthreads_n < n; cthreads_n++)
		if (pthread_create(&cthreads[cthreads_n], NULL, commit_worker, NULL) != 0)
			break;
	if (cthreads_n == 0)
		return mt_err_set(err, MT_ERR_INTERNAL, "cannot start spool threads");
	*notify_fd = cefd;
	return MT_OK;
}

bool rcv_commit_submit(struct rcv_spool_msg *m, int fd, uint64_t icid)
{
	struct cjob *j = calloc(1, sizeof *j);
	if (!j)
		return false;
	j->m = *m; /* the job takes the descriptor and the buffer */
	memset(m, 0, sizeof *m);
	m->fd = -1;
	j->res.fd = fd;
	j->res.icid = icid;
	pthread_mutex_lock(&cmu);
	if (ctodo_tail)
		ctodo_tail->next = j;
	else
		ctodo_head = j;
	ctodo_tail = j;
	pthread_cond_signal(&ccv);
	pthread_mutex_unlock(&cmu);
	return true;
}

size_t rcv_commit_collect(struct rcv_commit_res *out, size_t max)
{
	uint64_t v;
	ssize_t r = read(cefd, &v, sizeof v);
	(void)r;
	size_t n = 0;
	pthread_mutex_lock(&cmu);
	while (cdone && n < max) {
		struct cjob *j = cdone;
		cdone = j->next;
		out[n++] = j->res;
		free(j);
	}
	bool more = cdone != NULL;
	pthread_mutex_unlock(&cmu);
	if (more) {
		uint64_t one = 1;
		ssize_t w = write(cefd, &one, sizeof one);
		(void)w;
	}
	return n;
}

void rcv_commit_stop(void)
{
	if (cefd < 0)
		return;
	pthread_mutex_lock(&cmu);
	cstop = true; /* workers finish what is queued, then exit */
	pthread_cond_broadcast(&ccv);
	pthread_mutex_unlock(&cmu);
	for (int i = 0; i < cthreads_n; i++)
		pthread_join(cthreads[i], NULL);
	cthreads_n = 0;
	while (cdone) {
		struct cjob *j = cdone;
		cdone = j->next;
		free(j);
	}
	close(cefd);
	cefd = -1;
}
