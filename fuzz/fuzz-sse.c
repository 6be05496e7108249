/*
 * fuzz-sse: the provider's streamed reply (llm_sse_*). The input is fed in
 * pieces cut where its first byte says; the content handed to on_delta,
 * piece by piece, is exactly the content the parser reports, and feeding
 * it whole gives the same verdict and content.
 */
#include "config.h"

#include "fuzz.h"
#include "llm.h"

struct acc {
	char  *p;
	size_t len;
};

static int
on_delta(void *arg, const char *text, size_t len)
{
	struct acc *a = arg;
	char	   *p = realloc(a->p, a->len + len + 1);

	if (p == NULL)
		return -1;
	memcpy(p + a->len, text, len);
	a->p = p;
	a->len += len;
	return 0;
}

static int
run(const uint8_t *data, size_t size, size_t step, struct acc *a,
    char **content, size_t *clen)
{
	struct llm_sse *p = llm_sse_new(on_delta, a);
	const char     *c;
	size_t		i, n;
	int		rc = 0;

	if (p == NULL)
		return -2;
	for (i = 0; i < size && rc == 0; i += n) {
		n = size - i < step ? size - i : step;
		rc = llm_sse_feed(p, (const char *)data + i, n);
	}
	if (rc == 0)
		rc = llm_sse_finish(p);
	c = llm_sse_content(p, clen);
	*content = c != NULL ? strndup(c, *clen) : NULL;
	FUZZ_ASSERT(llm_sse_delivered(p) <= *clen || c == NULL,
	    "more delivered than received");
	llm_sse_free(p);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acc a = { NULL, 0 }, b = { NULL, 0 };
	char	  *c1 = NULL, *c2 = NULL;
	size_t	   l1 = 0, l2 = 0, step;
	int	   r1, r2;

	if (size < 1)
		return 0;
	step = 1 + data[0] % 64;
	r1 = run(data + 1, size - 1, step, &a, &c1, &l1);
	r2 = run(data + 1, size - 1, size, &b, &c2, &l2);
	if (r1 != -2 && r2 != -2) {
		FUZZ_ASSERT(
		    r1 == r2, "the verdict depends on how input is cut");
		FUZZ_ASSERT(l1 == l2 && (l1 == 0 || memcmp(c1, c2, l1) == 0),
		    "the content depends on how input is cut");
		FUZZ_ASSERT(a.len == b.len &&
			(a.len == 0 || memcmp(a.p, b.p, a.len) == 0),
		    "the deltas depend on how input is cut");
	}
	free(a.p);
	free(b.p);
	free(c1);
	free(c2);
	return 0;
}
