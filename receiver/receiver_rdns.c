/* receiver_rdns.c — reverse DNS with forward confirmation, in a few worker threads so the
 * single-threaded event loop never waits on a resolver. Results are queued and announced
 * through an eventfd the loop polls. Only this file has threads; results are plain copies.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "receiver.h"

struct job {
	struct job *next;
	struct sockaddr_storage ss;
	struct rcv_rdns_res res;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct job *todo_head, *todo_tail, *done_head;
static int efd = -1;
static bool stopping;
static pthread_t threads[8];
static int nthreads;

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		               &((const struct sockaddr_in *)b)->sin_addr, 4);
	if (b->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		               &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
	return false;
}

void rcv_rdns_lookup(const struct sockaddr_storage *ss, char *name, size_t namesz, bool *verified)
{
	char host[NI_MAXHOST];
	socklen_t sl =
	    ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	name[0] = '\0';
	*verified = false;
	if (getnameinfo((const struct sockaddr *)ss, sl, host, sizeof host, NULL, 0, NI_NAMEREQD) !=
	    0)
		return;
	mt_strlcpy(name, host, namesz);
	struct addrinfo hints = {.ai_family = ss->ss_family, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0)
		return;
	for (struct addrinfo *p = ai; p; p = p->ai_next)
		if (same_addr(ss, p->ai_addr)) {
			*verified = true;
			break;
		}
	freeaddrinfo(ai);
}

static void *worker(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!todo_head && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (stopping) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		struct job *j = todo_head;
		todo_head = j->next;
		if (!todo_head)
			todo_tail = NULL;
		pthread_mutex_unlock(&mu);
		rcv_rdns_lookup(&j->ss, j->res.name, sizeof j->res.name, &j->res.verified);
		pthread_mutex_lock(&mu);
		j->next = done_head;
		done_head = j;
		pthread_mutex_unlock(&mu);
		uint64_t one = 1;
		ssize_t w = write(efd, &one, sizeof one);
		(void)w;
	}
}

mt_status rcv_rdns_start(int n, int *notify_fd, struct mt_err *err)
{
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return mt_err_set(err, MT_ERR_IO, "eventfd: %s", strerror(errno));
	if (n < 1)
		n = 1;
	if (n > 8)
		n = 8;
	stopping = false;
	for (nthreads = 0; nthreads < n; nthreads++)
		if (pthread_create(&threads[nthreads], NULL, worker, NULL) != 0)
			break;
	if (nthreads == 0)
		return mt_err_set(err, MT_ERR_INTERNAL, "cannot start resolver threads");
	*notify_fd = efd;
	return MT_OK;
}

void rcv_rdns_submit(int fd, uint64_t icid, const struct sockaddr_storage *ss)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		return; /* no memory: the session's own timeout ends it */
	j->ss = *ss;
	j->res.fd = fd;
	j->res.icid = icid;
	pthread_mutex_lock(&mu);
	if (todo_tail)
		todo_tail->next = j;
	else
		todo_head = j;
	todo_tail = j;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

size_t rcv_rdns_collect(struct rcv_rdns_res *out, size_t max)
{
	uint64_t v;
	ssize_t r = read(efd, &v, sizeof v);
	(void)r;
	size_t n = 0;
	pthread_mutex_lock(&mu);
	while (done_head && n < max) {
		struct job *j = done_head;
		done_head = j->next;
		out[n++] = j->res;
		free(j);
	}
	bool more = done_head != NULL;
	pthread_mutex_unlock(&mu);
	if (more) {
		uint64_t one = 1;
		ssize_t w = write(efd, &one, sizeof one); /* come back for the rest */
		(void)w;
	}
	return n;
}

void rcv_rdns_stop(void)
{
	if (efd < 0)
		return;
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	/* a worker may sit in a slow resolver call: do not wait for it at exit */
	for (int i = 0; i < nthreads; i++)
		pthread_detach(threads[i]);
	nthreads = 0;
}
