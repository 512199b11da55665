#ifndef DPF_CPCAP_SHIM_H
#define DPF_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
