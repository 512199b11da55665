// CMemoryFile is header-only; this file makes it a target SwiftPM builds.
#include "CMemoryFile.h"
