/*
 * fuzz-html: knowledge-base documents: HTML to text (text_from_html()),
 * text/plain normalisation (text_normalize()) and chunking
 * (text_chunks()). Chunks are never empty, never longer than 'max',
 * carry no leading or trailing whitespace and never split UTF-8.
 */
#include "config.h"

#include "fuzz.h"
#include "text.h"

struct ck {
	size_t max;
	int    n;
};

static int
utf8_ok(const char *s, size_t n)
{
	size_t i = 0, k, j;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		k = c < 0x80		 ? 1
		    : (c & 0xe0) == 0xc0 ? 2
		    : (c & 0xf0) == 0xe0 ? 3
		    : (c & 0xf8) == 0xf0 ? 4
					 : 0;
		if (k == 0 || i + k > n)
			return 0;
		for (j = 1; j < k; j++)
			if (((unsigned char)s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

static int
emit(void *arg, const char *chunk, size_t len)
{
	struct ck *c = arg;

	FUZZ_ASSERT(len > 0 && len <= c->max, "a chunk's length");
	FUZZ_ASSERT(chunk[0] != ' ' && chunk[0] != '\n' &&
		chunk[len - 1] != ' ' && chunk[len - 1] != '\n',
	    "a chunk with whitespace at an end");
	FUZZ_ASSERT(utf8_ok(chunk, len), "a chunk splits UTF-8");
	c->n++;
	return 0;
}

static void
chunk(const char *text, size_t target, size_t max)
{
	struct ck c = { max, 0 };
	int	  n = text_chunks(text, target, max, emit, &c);

	FUZZ_ASSERT(n < 0 || n == c.n, "chunks counted and emitted differ");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char  *title = NULL, *t, *p;
	size_t target;

	if (size < 1)
		return 0;
	target = TEXT_CHUNK_MIN + data[0] % 200;
	if ((t = text_from_html((const char *)data + 1, size - 1, &title)) !=
	    NULL) {
		FUZZ_ASSERT(utf8_ok(t, strlen(t)), "HTML text is not UTF-8");
		chunk(t, target, target * 2);
		free(t);
	}
	free(title);
	if ((p = text_normalize((const char *)data + 1, size - 1)) != NULL) {
		chunk(p, target, target + target / 2);
		free(p);
	}
	return 0;
}
