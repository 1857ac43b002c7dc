/* Version of the linked library, for checks against the header's macros. */
#include "internal.h"

SECCHAT_API const char *secchat_version_string(void)
{
    return SECCHAT_VERSION_STRING;
}
