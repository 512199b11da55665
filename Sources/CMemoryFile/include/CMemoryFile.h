// memfd_create for Swift: Glibc's module map does not export it (it needs _GNU_SOURCE).
#ifndef C_MEMORY_FILE_H
#define C_MEMORY_FILE_H

#ifdef __linux__
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/// An anonymous memory file (close-on-exec), or -1 with errno set.
static inline int dpf_memory_file_create(const char *name) {
    return (int)syscall(SYS_memfd_create, name, (unsigned int)MFD_CLOEXEC);
}
#endif

#endif
