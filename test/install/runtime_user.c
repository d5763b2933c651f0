/* A C program built against an installed convc through pkg-config
   (convc-runtime.pc): loads a compiled module and lists its entry points. */
#include "convc/convc_c_api.h"

#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.so\n", argv[0]);
    return 2;
  }
  convc_module *module = NULL;
  convc_status *status = convc_module_load(argv[1], &module);
  if (status) {
    fprintf(stderr, "%s\n", convc_status_get_message(status));
    convc_status_free(status);
    return 1;
  }
  size_t n = convc_module_get_num_entries(module);
  for (size_t i = 0; i < n; ++i)
    printf("entry point: %s\n", convc_module_get_entry_name(module, i));
  convc_module_free(module);
  return n > 0 ? 0 : 1;
}
