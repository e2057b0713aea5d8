/*
 * The C floor of netring's int: reader: one recv() per packet on a plain AF_PACKET socket
 * bound to one interface, counting until SIGTERM, then one JSON line with the count, the
 * socket's PACKET_STATISTICS and its own CPU time (the contract of benchmark/rx-reader.ts).
 *
 *   recv-loop IFACE
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
    if (argc != 2) {
        fprintf(stderr, "usage: recv-loop IFACE\n");
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
    /* No SA_RESTART: SIGTERM ends the blocking recv() with EINTR. */
    struct sigaction action = {.sa_handler = stop};
    sigaction(SIGTERM, &action, NULL);
    fprintf(stderr, "ready\n");
    long cpu0 = cpu_us();
    static char buffer[65536];
    unsigned long packets = 0, bytes = 0;
    while (!stopping) {
        ssize_t n = recv(fd, buffer, sizeof buffer, MSG_TRUNC);
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
    printf("{\"packets\":%lu,\"bytes\":%lu,\"received\":%u,\"dropped\":%u,\"cpuUs\":%ld}\n", packets, bytes,
           stats.tp_packets - stats.tp_drops, stats.tp_drops, cpu);
    return 0;
}
