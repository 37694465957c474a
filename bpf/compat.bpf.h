/* The one place for kernel-compatibility details of the BPF programs.
 *
 * vmlinux.h carries types but no #defines, so the UAPI constants the
 * programs compare against are spelled out here (values are ABI, stable).
 */
#ifndef SEISMO_COMPAT_BPF_H
#define SEISMO_COMPAT_BPF_H

#define AF_INET_VAL 2
#define AF_INET6_VAL 10
#define IPPROTO_TCP_VAL 6
#define MSG_PEEK_VAL 0x2
#define EEXIST_VAL 17

/* include/net/tcp_states.h */
#define TCP_ESTABLISHED_VAL 1
#define TCP_SYN_SENT_VAL 2
#define TCP_SYN_RECV_VAL 3
#define TCP_CLOSE_VAL 7
#define TCP_LISTEN_VAL 10

/* x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) and where
 * the saved user registers keep the syscall number and second argument. */
#define SYS_READ_VAL 0
#define SYS_WRITE_VAL 1
#define SYS_READV_VAL 19
#define SYS_WRITEV_VAL 20
#define SYS_SENDTO_VAL 44
#define SYS_RECVFROM_VAL 45
#define SYS_SENDMSG_VAL 46
#define SYS_RECVMSG_VAL 47
/* bpf_task_pt_regs() returns a BTF pointer: plain loads, no probe-read calls. */
#define SYSCALL_NR(regs) ((long)(regs)->orig_ax)
#define SYSCALL_ARG2(regs) ((__u64)(regs)->si)

/*
 * bpf_task_pt_regs() (Linux >= 5.15, commit dd6e10fbd9fb "bpf: Add
 * bpf_task_pt_regs() helper") gives the registers saved at syscall entry,
 * so the syscall's buffer argument is read where the socket tracepoint
 * fires, with no syscall hook.
 *
 * Hook choice (made by the agent at load time by probing BTF and trying,
 * never by kernel version; docs/agent.md):
 *  - fexit on tcp_sendmsg/tcp_recvmsg where fentry is allowed: TCP only.
 *    tcp_recvmsg lost its nonblock argument in 5.19 (commit ec095263a965
 *    "net: remove noblock parameter from recvmsg() entities") and addr_len
 *    in 6.10; one program per signature, picked by BTF argument count.
 *  - else sock:sock_send_length / sock:sock_recv_length (Linux >= 6.3,
 *    commit "net: sock: add tracepoint for send recv length"): one event per
 *    socket transfer whatever the syscall, for every socket family.
 *
 * Per-connection state (same probing, crossed with the hook choice):
 *  - socket-local storage (BPF_MAP_TYPE_SK_STORAGE) through
 *    bpf_sk_storage_get() from tracing programs (Linux >= 5.11, commit
 *    8e4597c627fb "bpf: Allow using bpf_sk_storage in FENTRY/FEXIT/RAW_TP"):
 *    a pointer walk from the socket, no hashing, freed with the socket;
 *  - else an LRU hash keyed by the socket's address, deleted at TCP_CLOSE.
 */

#endif
