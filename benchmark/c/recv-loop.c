/*
 * The C floor of netring's int: reader: one recv() per packet on a plain AF_PACKET socket
 * bound to one interface, counting until SIGTERM, then one JSON line with the count, the
 * socket's PACKET_STATISTICS and its own CPU time (the contract of benchmark/rx-reader.ts).
 *
 *   recv-loop IFACE [--messages]
 *
 * With --messages it receives as int: does: recvmsg() with the PACKET_AUXDATA and
 * SO_TIMESTAMPNS control messages (each packet's original length, VLAN tag and time),
 * which it reads; without, a bare recv() that learns only the length.
 *
 * Built by benchmark/setup.sh into target/release/recv-loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

static volatile sig_atomic_t stopping;

static void stop(int signal) {
    (void)signal;
    stopping = 1;
}

static long cpu_us(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000L + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

int main(int argc, char **argv) {
    int messages = argc == 3 && strcmp(argv[2], "--messages") == 0;
    if (argc != 2 && !messages) {
        fprintf(stderr, "usage: recv-loop IFACE [--messages]\n");
        return 2;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    /* As netring's int: reader in the study: a 4 MiB receive buffer. */
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    struct sockaddr_ll addr = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)if_nametoindex(argv[1])};
    if (addr.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror(argv[1]);
        return 1;
    }
    int on = 1;
    if (messages && (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) < 0 ||
                     setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)) {
        perror("setsockopt");
        return 1;
    }
    /* No SA_RESTART: SIGTERM ends the blocking recv() with EINTR. */
    struct sigaction action = {.sa_handler = stop};
    sigaction(SIGTERM, &action, NULL);
    fprintf(stderr, "ready\n");
    long cpu0 = cpu_us();
    static char buffer[65536];
    /* Room for both messages, aligned as cmsghdr wants. */
    static union {
        char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata)) + CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    unsigned long packets = 0, bytes = 0, check = 0;
    while (!stopping) {
        ssize_t n;
        if (messages) {
            struct sockaddr_ll from;
            struct iovec iov = {.iov_base = buffer, .iov_len = sizeof buffer};
            struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
                                 .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
            n = recvmsg(fd, &msg, MSG_TRUNC);
            for (struct cmsghdr *c = n < 0 ? NULL : CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
                    struct tpacket_auxdata aux;
                    memcpy(&aux, CMSG_DATA(c), sizeof aux);
                    check += aux.tp_len + aux.tp_vlan_tci;
                } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof ts);
                    check += (unsigned long)ts.tv_nsec;
                }
            }
        } else {
            n = recv(fd, buffer, sizeof buffer, MSG_TRUNC);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("recv");
            return 1;
        }
        packets++;
        bytes += (unsigned long)n;
    }
    long cpu = cpu_us() - cpu0;
    struct tpacket_stats stats;
    socklen_t length = sizeof stats;
    memset(&stats, 0, sizeof stats);
    getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length);
    printf("{\"packets\":%lu,\"bytes\":%lu,\"received\":%u,\"dropped\":%u,\"cpuUs\":%ld,\"check\":%lu}\n", packets,
           bytes, stats.tp_packets - stats.tp_drops, stats.tp_drops, cpu, check);
    return 0;
}
