/* config_edit.c - the one change okta-jit makes to okta-jit.conf itself:
 * `okta-jit key rotate` (issue 21) makes the next key the key, so that a
 * restart keeps signing with the key okta-jitd switched to. Every other
 * line, comment and blank is kept as it was. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EDIT_MAX_BYTES (1024 * 1024)

/* Is line "  name = ..." (the key name, then blanks and '=')? */
static int line_sets(const char *line, size_t len, const char *name)
{
	size_t i = 0, n = strlen(name);

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i < n || strncmp(line + i, name, n) != 0)
		return 0;
	i += n;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == '=';
}

/* The section a "[name]" line opens ("" for other lines). */
static int line_section(const char *line, size_t len, char *out, size_t n)
{
	size_t i = 0, j;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || line[i] != '[')
		return 0;
	for (j = i + 1; j < len && line[j] != ']'; j++)
		;
	if (j >= len || j - i - 1 >= n)
		return 0;
	memcpy(out, line + i + 1, j - i - 1);
	out[j - i - 1] = '\0';
	return 1;
}

static int read_all(const char *path, struct ojit_buf *b, struct stat *st, char *err, size_t errlen)
{
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	int r = -1;

	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (b->len + (size_t)n > EDIT_MAX_BYTES) {
			snprintf(err, errlen, "%s: larger than %d bytes", path, EDIT_MAX_BYTES);
			goto out;
		}
		if (ojit_buf_append(b, chunk, (size_t)n) != 0) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
	}
	if (n < 0) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

/* Write text over path atomically (a new file renamed over it), with
 * path's mode and owner: a crash leaves the old file or the new one. */
static int replace_file(const char *path, const struct stat *st, const struct ojit_buf *text, char *err,
			size_t errlen)
{
	char tmp[4096];
	size_t off = 0;
	int fd, r = -1;

	if (ojit_snprintf(tmp, sizeof(tmp), "%s.rotate-XXXXXX", path) < 0) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot write beside it: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, st->st_mode & 07777) != 0 || fchown(fd, st->st_uid, st->st_gid) != 0) {
		snprintf(err, errlen, "%s: cannot keep its mode and owner: %s", path, strerror(errno));
		goto out;
	}
	while (off < text->len) {
		ssize_t n = write(fd, text->data + off, text->len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: write error: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot replace it: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	close(fd);
	if (r != 0)
		unlink(tmp);
	return r;
}

int config_rotate_keys(const struct ojit_config *cfg, char *err, size_t errlen)
{
	struct ojit_buf in, out;
	struct stat st;
	char section[300] = "", day[32] = "";
	size_t pos = 0;
	int done_key = 0, done_kid = 0, r = -1;
	time_t now = time(NULL);
	struct tm tm;

	ojit_buf_init(&in, 0);
	ojit_buf_init(&out, 0);
	if (cfg->next_private_key == NULL || cfg->next_key_id == NULL) {
		snprintf(err, errlen, "%s: no [okta] next_private_key and next_key_id to rotate to", cfg->path);
		goto out;
	}
	if (read_all(cfg->path, &in, &st, err, errlen) != 0)
		goto out;
	if (gmtime_r(&now, &tm) != NULL)
		strftime(day, sizeof(day), "%Y-%m-%d %H:%M UTC", &tm);
	while (pos < in.len) {
		const char *line = in.data + pos;
		const char *nl = memchr(line, '\n', in.len - pos);
		size_t len = nl != NULL ? (size_t)(nl - line) : in.len - pos;
		int okta = strcmp(section, "okta") == 0;
		char name[300];

		pos += len + (nl != NULL);
		if (line_section(line, len, name, sizeof(name)))
			ojit_strlcpy(section, name, sizeof(section));
		if (okta && (line_sets(line, len, "next_private_key") || line_sets(line, len, "next_key_id")))
			continue;
		if (okta && line_sets(line, len, "private_key")) {
			ojit_buf_printf(&out, "# okta-jit key rotate, %s: was private_key = %s, key_id = %s\n", day,
					cfg->private_key, cfg->key_id != NULL ? cfg->key_id : "");
			ojit_buf_printf(&out, "private_key = %s\n", cfg->next_private_key);
			done_key = 1;
			continue;
		}
		if (okta && line_sets(line, len, "key_id")) {
			ojit_buf_printf(&out, "key_id = %s\n", cfg->next_key_id);
			done_kid = 1;
			continue;
		}
		ojit_buf_append(&out, line, len);
		if (nl != NULL)
			ojit_buf_append(&out, "\n", 1);
	}
	if (!done_key || !done_kid) {
		snprintf(err, errlen, "%s: no private_key and key_id lines in [okta] to change", cfg->path);
		goto out;
	}
	if (out.data == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r = replace_file(cfg->path, &st, &out, err, errlen);
out:
	ojit_buf_free(&in);
	ojit_buf_free(&out);
	return r;
}
