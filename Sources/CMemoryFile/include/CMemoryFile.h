// memfd_create and fallocate's hole punching for Swift: Glibc's module does not export them
// (they need _GNU_SOURCE).
#ifndef C_MEMORY_FILE_H
#define C_MEMORY_FILE_H

#ifdef __linux__
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/// An anonymous memory file (close-on-exec), or -1 with errno set.
static inline int dpf_memory_file_create(const char *name) {
    return (int)syscall(SYS_memfd_create, name, (unsigned int)MFD_CLOEXEC);
}

/// Gives the file's pages in [offset, offset + length) back to the kernel: they read as zeros
/// afterwards, through every mapping. 0, or -1 with errno set.
static inline int dpf_memory_file_punch(int fd, long offset, long length) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
}
#endif

#endif
