/* --format json's building blocks (json.h): every string through
 * ax_text_clean (so a file's bytes can neither break the document nor reach
 * a terminal through it), every non-finite number as null. It chooses no
 * keys and prints nothing but the finished document. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/text.h"
#include "cli.h"
#include "json.h"

int ax_cli_json_format(const char *format)
{
    if (!format || !strcmp(format, "text")) return 0;
    if (!strcmp(format, "json")) return 1;
    ax_cli_error(2, "--format %s: expected text or json", format);
    return -1;
}

static cJSON *add(cJSON *obj, const char *key, cJSON *item)
{
    if (!item) return NULL;
    if (key ? cJSON_AddItemToObject(obj, key, item) : cJSON_AddItemToArray(obj, item)) return item;
    cJSON_Delete(item);
    return NULL;
}

cJSON *ax_cli_json_str(cJSON *obj, const char *key, const char *s)
{
    if (!s) return add(obj, key, cJSON_CreateNull());
    /* cleaning grows a byte to at most 4 ("\xNN") */
    size_t size = 4 * strlen(s) + 1;
    char *clean = malloc(size);
    if (!clean) return NULL;
    ax_text_clean(clean, size, s, 0);
    cJSON *item = add(obj, key, cJSON_CreateString(clean));
    free(clean);
    return item;
}

cJSON *ax_cli_json_num(cJSON *obj, const char *key, double v)
{
    return add(obj, key, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

cJSON *ax_cli_json_bool(cJSON *obj, const char *key, int v)
{
    return add(obj, key, cJSON_CreateBool(v != 0));
}

cJSON *ax_cli_json_null(cJSON *obj, const char *key)
{
    return add(obj, key, cJSON_CreateNull());
}

cJSON *ax_cli_json_obj(cJSON *obj, const char *key)
{
    return add(obj, key, cJSON_CreateObject());
}

cJSON *ax_cli_json_arr(cJSON *obj, const char *key)
{
    return add(obj, key, cJSON_CreateArray());
}

cJSON *ax_cli_json_shape(cJSON *obj, const char *key, int ndim, const int64_t *d)
{
    cJSON *a = ax_cli_json_arr(obj, key);
    for (int i = 0; a && i < ndim; i++) ax_cli_json_num(a, NULL, (double)d[i]);
    return a;
}

cJSON *ax_cli_json_ishape(cJSON *obj, const char *key, int ndim, const int *d)
{
    int64_t w[8];
    if (ndim > 8) ndim = 8;
    for (int i = 0; i < ndim; i++) w[i] = d[i];
    return ax_cli_json_shape(obj, key, ndim, w);
}

cJSON *ax_cli_json_lines(cJSON *obj, const char *key, const char *text)
{
    cJSON *a = ax_cli_json_arr(obj, key);
    for (const char *p = text; a && p && *p;) {
        size_t len = strcspn(p, "\n");
        if (len) {
            char *line = malloc(len + 1);
            if (!line) break;
            memcpy(line, p, len);
            line[len] = 0;
            ax_cli_json_str(a, NULL, line);
            free(line);
        }
        p += len + (p[len] == '\n');
    }
    return a;
}

int ax_cli_json_print(cJSON *doc)
{
    char *text = doc ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    if (!text) return ax_cli_error(1, "out of memory writing the JSON document");
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
    if (fflush(stdout) || ferror(stdout)) return ax_cli_error(1, "cannot write the JSON document to stdout");
    return 0;
}
