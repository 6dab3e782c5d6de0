/* web_html.c - escaping and the page frame. */
#include "web_html.h"

#include <string.h>

int web_html_esc(struct ojit_buf *b, const char *s)
{
	const char *run;

	if (s == NULL)
		return 0;
	run = s;
	for (; *s != '\0'; s++) {
		const char *rep = NULL;
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			/* Control bytes have no business on a page; shown as '?'
			 * like the CLI's ojit_strip_controls. */
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				rep = "?";
			break;
		}
		if (rep == NULL)
			continue;
		if (ojit_buf_append(b, run, (size_t)(s - run)) != 0 || ojit_buf_append(b, rep, strlen(rep)) != 0)
			return -1;
		run = s + 1;
	}
	return ojit_buf_append(b, run, (size_t)(s - run));
}

int web_html_lit(struct ojit_buf *b, const char *literal)
{
	return ojit_buf_append(b, literal, strlen(literal));
}

/* Small enough to inline in every page; readable from 320 px up. */
static const char web_css[] =
	"body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:52rem;padding:0 .8rem;color:#1b1b1b}"
	"nav{display:flex;flex-wrap:wrap;gap:.4rem 1rem;padding:.7rem 0;border-bottom:1px solid #ccc}"
	"nav .who{margin-left:auto;color:#555}"
	"h1{font-size:1.35rem}h2{font-size:1.1rem;margin-top:1.6rem}"
	".card{border:1px solid #ccc;border-radius:6px;padding:.6rem .8rem;margin:.7rem 0}"
	".state{font-weight:600}.muted{color:#555;font-size:.92rem}"
	".err{background:#fde8e8;border:1px solid #d33;padding:.6rem;border-radius:6px}"
	".ok{background:#e7f6e7;border:1px solid #393;padding:.6rem;border-radius:6px}"
	"form{margin:.4rem 0}form.inline{display:inline-block;margin-right:.5rem}"
	"label{display:block;margin:.5rem 0 .2rem}"
	"input[type=text],textarea,select{width:100%;box-sizing:border-box;font:inherit;padding:.35rem}"
	"button{font:inherit;padding:.45rem .9rem;margin-top:.3rem}"
	"table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}"
	"pre{white-space:pre-wrap;word-break:break-word}";

int web_html_head(struct ojit_buf *b, const char *title, const char *user)
{
	int r = 0;

	r |= web_html_lit(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
			     "<meta name=\"referrer\" content=\"same-origin\"><title>");
	r |= web_html_esc(b, title);
	r |= web_html_lit(b, " - okta-jit</title><style>");
	r |= web_html_lit(b, web_css);
	r |= web_html_lit(b, "</style></head><body><nav><a href=\"/\">My access</a>"
			     "<a href=\"/request\">Request access</a><a href=\"/approvals\">Waiting for me</a>");
	if (user != NULL) {
		r |= web_html_lit(b, "<span class=\"who\">");
		r |= web_html_esc(b, user);
		r |= web_html_lit(b, " &middot; <a href=\"/signout\">Sign out</a></span>");
	}
	r |= web_html_lit(b, "</nav><main><h1>");
	r |= web_html_esc(b, title);
	r |= web_html_lit(b, "</h1>\n");
	return r != 0 ? -1 : 0;
}

int web_html_foot(struct ojit_buf *b)
{
	return web_html_lit(b, "</main></body></html>\n");
}
