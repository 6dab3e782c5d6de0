/* atomic_file.h - a whole file replaced so that a reader sees the old
 * contents or the new, never a part: the NSS cache (nss_cache_write.c) and
 * the metrics textfile (daemon/metrics_collect.c). */
#ifndef OJIT_ATOMIC_FILE_H
#define OJIT_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* buf (size bytes) to a temporary file in path's folder (path.XXXXXX,
 * which no *.prom or *.cache reader matches), chmod mode, fsync, renamed
 * over path, the folder synced. 0, or -1 with why in err (path named). */
int ojit_write_atomic(const char *path, const void *buf, size_t size, mode_t mode, char *err, size_t errlen);

#endif
