/* logscan_input.c — see logscan_input.h.  zlib's gzread reads non-gzip input unchanged, so
 * one code path serves plain files, .gz files and pipes; a plain regular file is mapped
 * first (map_file), and read() takes over where the map ends. */
#include "logscan_input.h"
#include "logscan_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* how far ahead the line splitter asks for the bytes (a mapped file's pages are not in the
 * cache: the copy a read() makes streamed them in) */
#define LS_PF_DIST 4096

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

/* The map being read, for the SIGBUS handler: a mapped file that shrinks (copytruncate
 * rotation) or cannot be read turns the pages past its end into a SIGBUS on access.  The
 * handler maps zeros over the rest of the map, so the access goes on, and notes it: the
 * reader then stops at the map's end and reports the file as truncated.  One map at a
 * time (files are read one after another). */
static char *volatile g_bus_map;
static volatile size_t g_bus_len;
static volatile sig_atomic_t g_bus_hit;
static long g_bus_pg; /* the page size (sysconf is not for a signal handler) */

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char *a = si->si_addr, *m = g_bus_map;
	size_t len = g_bus_len;
	if (si->si_code > 0 && m && a >= m && a < m + len) { /* a fault in the map, not a kill */
		char *from = m + (((size_t)(a - m)) & ~(size_t)(g_bus_pg - 1));
		if (mmap(from, (size_t)(m + len - from), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    MAP_FAILED) {
			g_bus_hit = 1;
			return;
		}
	}
	struct sigaction dfl; /* not ours: the default action */
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static void map_unhook(struct mt_ls_reader *r)
{
	if (!r->map)
		return;
	g_bus_map = NULL;
	g_bus_len = 0;
	munmap(r->map, r->map_len);
	r->map = NULL;
}

/* Map the rest of a plain regular file from its current offset (see struct mt_ls_reader).
 * Nothing changes when it cannot be mapped: the file is read. */
static void map_file(struct mt_ls_reader *r)
{
	struct stat st;
	off_t pos = lseek(r->fd, 0, SEEK_CUR);
	if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode) || pos < 0 || st.st_size <= pos ||
	    (uint64_t)(st.st_size - pos) > SIZE_MAX / 2)
		return;
	unsigned char magic[2];
	if (pread(r->fd, magic, 2, pos) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		return; /* gzip: zlib reads it */
	static bool hooked;
	if (!hooked) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, NULL) != 0)
			return;
		hooked = true;
	}
	long pg = sysconf(_SC_PAGESIZE);
	g_bus_pg = pg;
	off_t base = pos & ~(off_t)(pg - 1);
	size_t lead = (size_t)(pos - base), size = (size_t)(st.st_size - base);
	size_t len = (size + (size_t)pg - 1) & ~(size_t)(pg - 1);
	char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, r->fd, base);
	if (m == MAP_FAILED)
		return;
	madvise(m, len, MADV_SEQUENTIAL);
	/* lines up to the last newline with MT_LS_PAD mapped bytes after it */
	size_t lim = size < len - MT_LS_PAD + 1 ? size : len - MT_LS_PAD + 1;
	g_bus_hit = 0;
	g_bus_map = m;
	g_bus_len = len;
	/* the last newline is near the end: look there first (a search of the whole map would
	 * touch, under a sanitizer, every page's shadow before the first line is read) */
	size_t from = lim > lead + 65536 ? lim - 65536 : lead;
	const char *nl = lim > from ? memrchr(m + from, '\n', lim - from) : NULL;
	if (!nl && from > lead)
		nl = memrchr(m + lead, '\n', from - lead);
	if (!nl || g_bus_hit) { /* no whole line to hand out (or it shrank already) */
		r->map = m;
		r->map_len = len;
		map_unhook(r);
		return;
	}
	r->map = m;
	r->map_len = len;
	r->own = r->buf;
	r->buf = m + lead;
	r->start = r->dropped = 0;
	r->end = (size_t)(nl - r->buf) + 1;
	r->map_pos = pos;
	r->mapped = r->plain = true;
	r->bytes += r->end;
}

/* The map is used up: read on from the file after it into the reader's own buffer. */
static int map_done(struct mt_ls_reader *r, struct mt_err *err)
{
	off_t next = r->map_pos + (off_t)r->end;
	r->bytes -= r->end - r->start; /* what was never handed out (a shrunk file's zeros) */
	r->mapped = false;
	r->buf = r->own;
	r->own = NULL;
	r->start = r->end = 0;
	/* the pages stay mapped until close: a block in flight may still read them (and a cut
	 * the file gets now is still noted).  Cut already: nothing after the map is this file's
	 * (the caller reports it, mt_ls_reader_map_failed) */
	if (g_bus_hit) {
		r->eof = true;
		return 0;
	}
	if (lseek(r->fd, next, SEEK_SET) != next) {
		mt_err_set(err, MT_ERR_IO, "cannot read %s: %s", r->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Let go of the map's pages before done, a buf offset below which every line handed out is
 * finished with (mt_ls_reader_release), at least 4 MB at a time (one madvise call each). */
static void map_drop(struct mt_ls_reader *r, size_t done)
{
	const size_t step = 4u << 20;
	if (done < r->dropped + step)
		return;
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t from = (uintptr_t)(r->buf + r->dropped) & ~(uintptr_t)(pg - 1);
	uintptr_t to = (uintptr_t)(r->buf + done) & ~(uintptr_t)(pg - 1);
	if (to > from)
		madvise((void *)from, to - from, MADV_DONTNEED);
	r->dropped = done;
}

void mt_ls_reader_release(struct mt_ls_reader *r, const char *upto)
{
	if (r->mapped && upto >= r->buf + r->dropped && upto <= r->buf + r->start)
		map_drop(r, (size_t)(upto - r->buf));
}

bool mt_ls_reader_map_failed(const struct mt_ls_reader *r)
{
	return r->map && g_bus_hit;
}

#ifdef __SSE2__
/* The splitter's main loop, 64 bytes per step: a bit per newline, then one line per set bit
 * (lines are ~100 bytes, so a memchr call per line spent more on its setup than on the
 * search).  A line of cap bytes or more is skipped and counted, as reading would skip it
 * (only a map holds one: a read buffer of cap bytes cannot).  Stops at the last whole step
 * or at max lines; *startp, *posp and *kp go on from where they are. */
#define SPLIT64(MASK)                                                                                    \
	size_t start = *startp, pos = *posp, k = *kp;                                                   \
	/* while a whole step's lines (at most 64) fit in out[], no per-line room test, and  \
	 * pointers instead of offsets: fewer values live in the loop */                     \
	if (end >= 64 && max >= 64 && k <= max - 64) {                                                  \
		const char *ls = buf + start, *p = buf + pos, *const pend = buf + end - 64;             \
		struct mt_ls_line *o = out + k, *const olim = out + (max - 64);                          \
		for (; p <= pend && o <= olim; p += 64) {                                                \
			__builtin_prefetch(p + LS_PF_DIST);                                              \
			for (uint64_t m = MASK(p); m; m &= m - 1) {                                      \
				const char *at = p + (unsigned)__builtin_ctzll(m);                       \
				if (__builtin_expect((size_t)(at - ls) >= cap, 0)) { /* too long */     \
					(*overlong)++;                                                   \
					ls = at + 1;                                                     \
					continue;                                                        \
				}                                                                        \
				o->p = ls;                                                               \
				o->n = (size_t)(at - ls);                                                \
				o++;                                                                     \
				ls = at + 1;                                                             \
			}                                                                                \
		}                                                                                        \
		start = (size_t)(ls - buf);                                                              \
		pos = (size_t)(p - buf);                                                                 \
		k = (size_t)(o - out);                                                                   \
	}                                                                                                \
	for (; pos + 64 <= end; pos += 64) {                                                             \
		__builtin_prefetch(buf + pos + LS_PF_DIST);                                              \
		uint64_t m = MASK(buf + pos);                                                            \
		while (m) {                                                                              \
			size_t at = pos + (size_t)__builtin_ctzll(m);                                    \
			m &= m - 1;                                                                      \
			if (__builtin_expect(at - start >= cap, 0)) { /* mapped: too long */           \
				(*overlong)++;                                                           \
				start = at + 1;                                                          \
				continue;                                                                \
			}                                                                                \
			out[k].p = buf + start;                                                          \
			out[k].n = at - start;                                                           \
			start = at + 1;                                                                  \
			if (++k == max)                                                                  \
				goto out;                                                                \
		}                                                                                        \
	}                                                                                                \
out:                                                                                                     \
	*startp = start;                                                                                 \
	*posp = pos;                                                                                     \
	*kp = k

#define SPLIT_ARGS                                                                                       \
	const char *buf, size_t end, size_t cap, struct mt_ls_line *out, size_t max, size_t *startp, size_t *posp, \
	    size_t *kp, uint64_t *overlong

static inline uint64_t nl_mask_sse2(const char *p)
{
	return mt_ls_mask64(p, '\n');
}

static void split64_sse2(SPLIT_ARGS)
{
	SPLIT64(nl_mask_sse2);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The same with AVX2 where the CPU has it: two 32-byte compares per step instead of four
 * 16-byte ones (the splitter was a tenth of a Postfix log's instructions). */
__attribute__((target("avx2"))) static inline uint64_t nl_mask_avx2(const char *p)
{
	const __m256i k = _mm256_set1_epi8('\n');
	const uint32_t a = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(const void *)p), k));
	const uint32_t b =
	    (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(const void *)(p + 32)), k));
	return (uint64_t)a | (uint64_t)b << 32;
}

__attribute__((target("avx2"))) static void split64_avx2(SPLIT_ARGS)
{
	SPLIT64(nl_mask_avx2);
}

static void (*resolve_split64(void))(SPLIT_ARGS)
{
	__builtin_cpu_init();
	const char *e = getenv("LOGSCAN_AVX2"); /* "0": the SSE2 loop (tests compare the two) */
	return __builtin_cpu_supports("avx2") && !(e && strcmp(e, "0") == 0) ? split64_avx2 : split64_sse2;
}
#else
static void (*resolve_split64(void))(SPLIT_ARGS)
{
	return split64_sse2;
}
#endif
/* the AVX2 loop is chosen by the first open, before any worker thread reads lines */
static void (*g_split64)(SPLIT_ARGS) = split64_sse2;
static bool g_split64_chosen;
#endif

mt_status mt_ls_reader_open(struct mt_ls_reader *r, const char *path, size_t bufsize, bool follow, bool may_map,
			    volatile sig_atomic_t *stop, struct mt_err *err)
{
	memset(r, 0, sizeof *r);
#ifdef __SSE2__
	if (!g_split64_chosen) {
		g_split64 = resolve_split64();
		g_split64_chosen = true;
	}
#endif
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
		return st;
	}
	if (may_map && !follow)
		map_file(r);
	return st;
}

void mt_ls_reader_close(struct mt_ls_reader *r)
{
	if (r->gz)
		gzclose(r->gz); /* closes fd too */
	r->gz = NULL;
	map_unhook(r);
	if (r->mapped) {
		r->mapped = false;
		r->buf = r->own;
		r->own = NULL;
	}
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
			if (r->mapped && (size_t)(nl - p) >= r->cap) { /* as if read: too long */
				r->overlong++;
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
	size_t start = r->start, pos = start, end = r->end, k = 0, cap = r->cap;
#ifdef __SSE2__
	uint64_t overlong = 0;
	g_split64(buf, end, cap, out, max, &start, &pos, &k, &overlong);
	r->overlong += overlong;
	if (k == max)
		goto done;
#endif
	while (k < max && pos < end) {
		const char *q = memchr(buf + pos, '\n', end - pos);
		if (!q)
			break;
		size_t at = (size_t)(q - buf);
		if (at - start < cap) {
			out[k].p = buf + start;
			out[k].n = at - start;
			k++;
		} else {
			r->overlong++;
		}
		start = pos = at + 1;
	}
done: __attribute__((unused)); /* reached by a goto only with SSE2 */
	r->start = start;
	return k;
}

int mt_ls_reader_fill(struct mt_ls_reader *r, struct mt_err *err)
{
	if (r->mapped) {
		if (map_done(r, err) < 0)
			return -1;
		if (r->eof)
			return 0;
	}
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
	int n;
	if (r->plain) {
		ssize_t k;
		do
			k = read(r->fd, r->buf + r->end, room);
		while (k < 0 && errno == EINTR);
		if (k < 0) {
			mt_err_set(err, MT_ERR_IO, "cannot read %s: %s", r->path, strerror(errno));
			return -1;
		}
		n = (int)k;
	} else {
		n = gzread(r->gz, r->buf + r->end, (unsigned)room);
	}
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
	if (r->mapped) {
		char *old = r->own;
		r->own = buf;
		return old;
	}
	char *old = r->buf;
	size_t avail = r->end - r->start;
	if (buf && avail)
		memcpy(buf, old + r->start, avail);
	r->buf = buf;
	r->start = 0;
	r->end = buf ? avail : 0;
	return old;
}
