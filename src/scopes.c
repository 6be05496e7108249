/*
 * scopes.c: the API-key scope list and role ceilings.
 */
#include "config.h"

#include <string.h>

#include "scopes.h"

const char *const scope_names[SCOPE__COUNT + 1] = {
	"conversations:read",
	"conversations:write",
	"chatbots:read",
	"chatbots:write",
	"documents:read",
	"documents:write",
	"templates:write",
	"members:read",
	"audit:read",
	"webhooks:write",
	"analytics:read",
	NULL,
};

unsigned
scope_parse(const char *name)
{
	int i;

	for (i = 0; i < SCOPE__COUNT; i++)
		if (strcmp(name, scope_names[i]) == 0)
			return 1u << i;
	return 0;
}

unsigned
scope_ceiling(enum role r)
{
	switch (r) {
	case ROLE_OWNER:
	case ROLE_ADMIN: return (1u << SCOPE__COUNT) - 1;
	case ROLE_MEMBER:
		return SCOPE_CONVERSATIONS_READ | SCOPE_CONVERSATIONS_WRITE |
		    SCOPE_CHATBOTS_READ | SCOPE_DOCUMENTS_READ |
		    SCOPE_MEMBERS_READ;
	default: return 0;
	}
}

json_t *
scope_json(unsigned mask)
{
	json_t *a = json_array();
	int	i;

	for (i = 0; i < SCOPE__COUNT; i++)
		if (mask & (1u << i))
			json_array_append_new(a, json_string(scope_names[i]));
	return a;
}

unsigned
scope_from_pg(const char *arr)
{
	char	 buf[32];
	unsigned mask = 0;
	size_t	 n;

	if (*arr == '{')
		arr++;
	while (*arr != '\0' && *arr != '}') {
		n = strcspn(arr, ",}");
		if (n < sizeof(buf)) {
			memcpy(buf, arr, n);
			buf[n] = '\0';
			mask |= scope_parse(buf);
		}
		arr += n;
		if (*arr == ',')
			arr++;
	}
	return mask;
}
