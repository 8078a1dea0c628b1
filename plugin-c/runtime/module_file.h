/* Reading a policy module file: the plugin (auth.c) and wasm-auth-check read it the same way,
 * with the same messages. */
#ifndef WASM_AUTH_MODULE_FILE_H
#define WASM_AUTH_MODULE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The whole regular file at path into *out (malloc'd, *len bytes), refused before anything is
 * read when it is larger than cap (wasm_max_module_bytes). -1 with a one-line reason in err. */
int wa_module_file_read(const char *path, size_t cap, uint8_t **out, size_t *len, char *err, size_t errlen);

#endif
