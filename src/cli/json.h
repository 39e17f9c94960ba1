/* What the commands' --format json share: the option's check, cJSON members
 * that hold only valid JSON (text from files cleaned as the text output
 * prints it, non-finite numbers as null) and the one write to stdout. It
 * decides no keys; each command owns its document. */
#ifndef AX_CLI_JSON_H
#define AX_CLI_JSON_H

#include <stdint.h>
#include <cjson/cJSON.h>

/* --format: 0 for text (also when not given), 1 for json; any other value
 * prints the usage error and returns -1 (the command exits 2). */
int ax_cli_json_format(const char *format);

/* Each adds a member to obj (an array when key is NULL) and returns it, NULL
 * when out of memory. str: s as ax_text_clean leaves it (NULL gives null);
 * num: a non-finite v gives null. */
cJSON *ax_cli_json_str(cJSON *obj, const char *key, const char *s);
cJSON *ax_cli_json_num(cJSON *obj, const char *key, double v);
cJSON *ax_cli_json_bool(cJSON *obj, const char *key, int v);
cJSON *ax_cli_json_null(cJSON *obj, const char *key);
cJSON *ax_cli_json_obj(cJSON *obj, const char *key);
cJSON *ax_cli_json_arr(cJSON *obj, const char *key);
/* [d0, d1, ...]; ax_cli_json_ishape is the same for int dimensions. */
cJSON *ax_cli_json_shape(cJSON *obj, const char *key, int ndim, const int64_t *d);
cJSON *ax_cli_json_ishape(cJSON *obj, const char *key, int ndim, const int *d);
/* Text of several lines as an array of its non-empty lines. */
cJSON *ax_cli_json_lines(cJSON *obj, const char *key, const char *text);

/* Writes doc (indented, one newline at the end) to stdout and frees it.
 * Returns 0, or 1 after printing why (out of memory, stdout failed). */
int ax_cli_json_print(cJSON *doc);

#endif
