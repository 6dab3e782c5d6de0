/* atomic_file.c - see atomic_file.h. (Moved out of nss_cache_write.c in
 * issue 22, for the metrics textfile.) */
#include "atomic_file.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void werr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void werr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Errors name path, never the temporary file: its name differs each
 * time, and so would the text, which defeats a caller's log-once. */
int ojit_write_atomic(const char *path, const void *buf, size_t size, mode_t mode, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	char tmp[4096], dirbuf[4096];
	size_t done = 0;
	ssize_t n;
	int fd = -1, dfd = -1, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp) ||
	    snprintf(dirbuf, sizeof(dirbuf), "%s", path) >= (int)sizeof(dirbuf)) {
		werr(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		werr(err, errlen, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0) {
		werr(err, errlen, "%s: chmod of the temporary file: %s", path, strerror(errno));
		goto out;
	}
	while (done < size) {
		n = write(fd, p + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			werr(err, errlen, "%s: write to the temporary file: %s", path, n < 0 ? strerror(errno) : "short write");
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0) {
		werr(err, errlen, "%s: fsync of the temporary file: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		werr(err, errlen, "%s: close of the temporary file: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		werr(err, errlen, "%s: rename of the temporary file over it: %s", path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	/* The rename itself survives a crash only once the folder is synced;
	 * failing that, the next write redoes it, so it is not an error. */
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	return rc;
}
