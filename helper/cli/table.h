/* table.h - okta-jit's tables: columns as wide as their data, never a
 * name cut, fitted to the terminal by eliding free text only. */
#ifndef OJIT_TABLE_H
#define OJIT_TABLE_H

#include <stddef.h>
#include <stdio.h>

/* A column's kind. A name or an id is printed whole, whatever the
 * terminal's width; free text (a reason, a detail) is what gives way. */
enum table_col {
	TABLE_NAME = 0,
	TABLE_FREE = 1,
};

/* How stdout is drawn on, decided once (table_out_detect). */
struct table_out {
	int width; /* columns to fit, 0: no limit (not a terminal: whole lines) */
	int color; /* SGR colours allowed */
};

/* The colours a cell may carry (SGR parameters); TABLE_PLAIN: none. */
#define TABLE_PLAIN NULL
#define TABLE_GREEN "32"
#define TABLE_YELLOW "33"
#define TABLE_RED "31"

struct table;

/* fd's width and colour: on a terminal only (isatty); the width from
 * COLUMNS when set to a number, else TIOCGWINSZ; colours never with
 * NO_COLOR set (any value, even empty) or TERM unset or "dumb". */
void table_out_detect(int fd, struct table_out *out);

/* A table of ncols columns (headers and kinds copied). NULL: no memory. */
struct table *table_new(size_t ncols, const char *const *headers, const enum table_col *kinds);
void table_free(struct table *t);
/* One row of ncols cells (NULL: empty), copied with control characters
 * replaced: they came from okta-jitd and go to a terminal. 0, or -1. */
int table_add(struct table *t, const char *const *cells);
/* The colour of the last row's cell col (a TABLE_* constant). */
void table_color(struct table *t, size_t col, const char *sgr);
size_t table_rows(const struct table *t);
/* The header and the rows, one record a line, columns one space apart
 * and padded to the widest cell (the last column unpadded). With
 * out->width, free-text columns are elided ("...") until the line fits;
 * names and ids never are (a line of names wider than the terminal
 * stays whole). 0, or -1 when f could not be written. */
int table_print(const struct table *t, FILE *f, const struct table_out *out);
/* The same for a stream of tables (`audit --follow`): the header only
 * with header set, the widths at least keep's (ncols of them, updated),
 * so the columns stay put while they can. */
int table_print_rows(const struct table *t, FILE *f, const struct table_out *out, size_t *keep, int header);
/* Drop the rows (the columns stay). */
void table_clear(struct table *t);

/* Display width of a UTF-8 string (code points; bytes of a broken
 * sequence count one each). Exposed for the unit test. */
size_t table_text_width(const char *s);
/* The longest prefix of s, at a code-point boundary, at most w wide:
 * its length in bytes. */
size_t table_text_cut(const char *s, size_t w);

#endif
