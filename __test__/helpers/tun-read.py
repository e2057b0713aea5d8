# Reads packets from a tun device (made with `ip tuntap add … mode tun`) and prints each as hex:
#   python3 tun-read.py IFACE COUNT
# "ready" once attached; the kernel's own ICMPv6 (router and neighbour discovery, MLD: types 130-143) is skipped.
import fcntl, os, struct, sys, select
TUNSETIFF = 0x400454ca
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', sys.argv[1].encode(), IFF_TUN | IFF_NO_PI))
print('ready', flush=True)
n = int(sys.argv[2])
while n > 0:
    r, _, _ = select.select([fd], [], [], 5)
    if not r:
        break
    data = os.read(fd, 65536)
    if data[0] >> 4 == 6 and data[6] == 58 and 130 <= data[40] <= 143:
        continue  # the kernel's own neighbour discovery and MLD
    print(data.hex(), flush=True)
    n -= 1
