/* audit.c: the configuration audit log: entry times in nanoseconds, entry identity. */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit.h"
#include "tstime.h"

int
audit_time_parse(const char *s, int64_t *ns)
{
	const char *dot;
	tstime_t us;
	int64_t extra = 0, scale = 100;
	int n = 0;

	if (s == NULL || tstime_parse_rfc3339(s, &us) == -1)
		return -1;
	/* tstime keeps six fraction digits; the seventh to ninth are added here. */
	if ((dot = strchr(s, '.')) != NULL)
		for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++, n++)
			if (n >= 6) {
				extra += (*p - '0') * scale;
				scale /= 10;
			}
	if (__builtin_mul_overflow(us, 1000, ns) || __builtin_add_overflow(*ns, extra, ns))
		return -1;
	return 0;
}

/* A member of OBJ (or of its object member SUB) as text for the hash: a string as is, anything
 * else (absent included) as empty. */
static const char *
audit_member(json_t *obj, const char *sub, const char *name)
{
	const char *s;

	if (sub != NULL)
		obj = json_object_get(obj, sub);
	s = json_string_value(json_object_get(obj, name));
	return s != NULL ? s : "";
}

int
audit_entry_hash(json_t *entry, uint8_t hash[AUDIT_HASH_LEN])
{
	static const struct {
		const char *sub, *name;
	} parts[] = {
	    {NULL, "eventTime"}, {NULL, "eventGroupID"}, {NULL, "action"},
	    {"target", "id"},    {"target", "property"}, {"actor", "id"},
	};
	EVP_MD_CTX *ctx;
	unsigned int hlen = 0;
	int ok;

	if (!json_is_object(entry) || !json_is_string(json_object_get(entry, "eventTime")))
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	/* Each part ends with a NUL: ("ab", "c") and ("a", "bc") differ. */
	for (size_t i = 0; ok && i < sizeof parts / sizeof parts[0]; i++) {
		const char *s = audit_member(entry, parts[i].sub, parts[i].name);

		ok = EVP_DigestUpdate(ctx, s, strlen(s) + 1) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, hash, &hlen) == 1 && hlen == AUDIT_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}
