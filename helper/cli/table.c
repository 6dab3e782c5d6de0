/* table.c - okta-jit's tables (issue 22): a login or a group name is
 * never cut (`okta-jit-demo-alice` once showed as `okta-jit-dem`, and a
 * cut name is a wrong name); widths come from the data; on a terminal the
 * free-text columns give way; piped, every record is one whole line. */
#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"

#define TABLE_WIDTH_MAX 100000
/* a free-text column is never squeezed below this (its header's width if wider) */
#define TABLE_FREE_MIN 8

struct table {
	size_t ncols;
	char **headers;
	enum table_col *kinds;
	size_t nrows, cap;
	char **cells;       /* nrows * ncols, owned */
	const char **color; /* nrows * ncols, static strings */
};

void table_out_detect(int fd, struct table_out *out)
{
	const char *cols = getenv("COLUMNS");
	const char *term = getenv("TERM");
	struct winsize ws;
	int64_t n;

	out->width = 0;
	out->color = 0;
	if (!isatty(fd))
		return;
	if (cols != NULL && ojit_parse_int64(cols, 1, TABLE_WIDTH_MAX, &n) == 0)
		out->width = (int)n;
	else if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		out->width = ws.ws_col;
	/* https://no-color.org: present at all, whatever its value, means no */
	out->color = getenv("NO_COLOR") == NULL && term != NULL && term[0] != '\0' && strcmp(term, "dumb") != 0;
}

size_t table_text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

size_t table_text_cut(const char *s, size_t w)
{
	size_t i, seen = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (seen == w)
				return i;
			seen++;
		}
	}
	return i;
}

struct table *table_new(size_t ncols, const char *const *headers, const enum table_col *kinds)
{
	struct table *t = calloc(1, sizeof(*t));
	size_t i;

	if (t == NULL || ncols == 0)
		goto fail;
	t->ncols = ncols;
	t->headers = calloc(ncols, sizeof(*t->headers));
	t->kinds = calloc(ncols, sizeof(*t->kinds));
	if (t->headers == NULL || t->kinds == NULL)
		goto fail;
	for (i = 0; i < ncols; i++) {
		t->headers[i] = strdup(headers[i]);
		if (t->headers[i] == NULL)
			goto fail;
		t->kinds[i] = kinds != NULL ? kinds[i] : TABLE_NAME;
	}
	return t;
fail:
	table_free(t);
	return NULL;
}

void table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; t->headers != NULL && i < t->ncols; i++)
		free(t->headers[i]);
	for (i = 0; t->cells != NULL && i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->kinds);
	free(t->cells);
	free(t->color);
	free(t);
}

int table_add(struct table *t, const char *const *cells)
{
	size_t i, base;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **nc;
		const char **ncol;

		if (cap > SIZE_MAX / sizeof(char *) / t->ncols)
			return -1;
		nc = realloc(t->cells, cap * t->ncols * sizeof(*nc));
		if (nc == NULL)
			return -1;
		t->cells = nc;
		ncol = realloc(t->color, cap * t->ncols * sizeof(*ncol));
		if (ncol == NULL)
			return -1;
		t->color = ncol;
		t->cap = cap;
	}
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		char *c = strdup(cells[i] != NULL ? cells[i] : "");

		if (c == NULL) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return -1;
		}
		t->cells[base + i] = ojit_strip_controls(c);
		t->color[base + i] = TABLE_PLAIN;
	}
	t->nrows++;
	return 0;
}

void table_color(struct table *t, size_t col, const char *sgr)
{
	if (t->nrows > 0 && col < t->ncols)
		t->color[(t->nrows - 1) * t->ncols + col] = sgr;
}

size_t table_rows(const struct table *t)
{
	return t->nrows;
}

/* Squeeze the free-text columns, the last first, until the line fits
 * width, none below its floor. Names and ids keep their widths. */
static void fit(const struct table *t, size_t *w, size_t width)
{
	size_t total = 0, i;

	for (i = 0; i < t->ncols; i++)
		total += w[i] + (i > 0);
	for (i = t->ncols; i > 0 && total > width; i--) {
		size_t c = i - 1, floor = table_text_width(t->headers[c]), give;

		if (t->kinds[c] != TABLE_FREE)
			continue;
		if (floor < TABLE_FREE_MIN)
			floor = TABLE_FREE_MIN;
		if (w[c] <= floor)
			continue;
		give = w[c] - floor;
		if (give > total - width)
			give = total - width;
		w[c] -= give;
		total -= give;
	}
}

static int put_cell(FILE *f, const char *s, size_t w, int last, int elide, const char *sgr)
{
	size_t tw = table_text_width(s), len = strlen(s), shown = tw;

	if (tw > w && elide) {
		/* "..." marks the cut; a column narrower than that is cut bare */
		len = table_text_cut(s, w > 3 ? w - 3 : w);
		shown = w;
	}
	if (sgr != NULL && fprintf(f, "\033[%sm", sgr) < 0)
		return -1;
	if (fwrite(s, 1, len, f) != len)
		return -1;
	if (len < strlen(s) && w > 3 && fputs("...", f) == EOF)
		return -1;
	if (sgr != NULL && fputs("\033[0m", f) == EOF)
		return -1;
	for (; !last && shown < w; shown++)
		if (fputc(' ', f) == EOF)
			return -1;
	return 0;
}

static int put_row(const struct table *t, FILE *f, char *const *cells, const char *const *color, const size_t *w,
		   const struct table_out *out)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		/* an empty last cell: no trailing blank */
		if (i + 1 == t->ncols && cells[i][0] == '\0')
			break;
		if (i > 0 && fputc(' ', f) == EOF)
			return -1;
		if (put_cell(f, cells[i], w[i], i + 1 == t->ncols, out->width > 0 && t->kinds[i] == TABLE_FREE,
			     out->color && color != NULL ? color[i] : NULL) != 0)
			return -1;
	}
	return fputc('\n', f) == EOF ? -1 : 0;
}

int table_print_rows(const struct table *t, FILE *f, const struct table_out *out, size_t *keep, int header)
{
	size_t *w = calloc(t->ncols, sizeof(*w));
	size_t i, r;
	int rc = -1;

	if (w == NULL)
		return -1;
	for (i = 0; i < t->ncols; i++) {
		w[i] = table_text_width(t->headers[i]);
		if (keep != NULL && keep[i] > w[i])
			w[i] = keep[i];
	}
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			size_t cw = table_text_width(t->cells[r * t->ncols + i]);

			if (cw > w[i])
				w[i] = cw;
		}
	if (out->width > 0)
		fit(t, w, (size_t)out->width);
	if (keep != NULL)
		memcpy(keep, w, t->ncols * sizeof(*w));
	if (header && put_row(t, f, t->headers, NULL, w, out) != 0)
		goto out;
	for (r = 0; r < t->nrows; r++)
		if (put_row(t, f, t->cells + r * t->ncols, t->color + r * t->ncols, w, out) != 0)
			goto out;
	rc = 0;
out:
	free(w);
	return rc;
}

int table_print(const struct table *t, FILE *f, const struct table_out *out)
{
	return table_print_rows(t, f, out, NULL, 1);
}

void table_clear(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	t->nrows = 0;
}
