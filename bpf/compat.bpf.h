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

/* include/net/tcp_states.h */
#define TCP_ESTABLISHED_VAL 1
#define TCP_SYN_SENT_VAL 2
#define TCP_SYN_RECV_VAL 3
#define TCP_CLOSE_VAL 7

/*
 * Hook choice (made by the agent at load time by probing BTF, never by
 * kernel version):
 *  - sock:sock_send_length / sock:sock_recv_length exist since Linux 6.3
 *    (commit "net: sock: add tracepoint for send recv length"); they fire
 *    once per socket transfer whatever the syscall, and tp_btf gives the
 *    struct sock directly. Preferred.
 *  - sk->sk_protocol became a full 16-bit field in 5.6 (commit bf9765145b85
 *    "sock: Make sk_protocol a 16-bit value"); BPF_CORE_READ handles both
 *    layouts by relocation.
 */

#endif
