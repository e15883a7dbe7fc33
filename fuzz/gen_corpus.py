#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The librte_vfio_user authors

"""Write the seed corpus of the fuzz targets: valid sessions in the input
format of fuzz/fuzz_common.h, and guest memories in the format of
fuzz/fuzz_virtq.c. Run from anywhere; it rewrites fuzz/corpus/server,
fuzz/corpus/client and fuzz/corpus/virtq."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# Record flags (fuzz_common.h).
EVENTFD = 1 << 2
NOWAIT = 1 << 3
PATCH_ID = 1 << 4

# Commands and flags (vfio_user_proto.h).
VERSION, DMA_MAP, DMA_UNMAP, GET_INFO, GET_REGION_INFO, GET_REGION_IO_FDS, \
    GET_IRQ_INFO, SET_IRQS, REGION_READ, REGION_WRITE, DMA_READ, DMA_WRITE, \
    RESET = range(1, 14)
WRITE_MULTI = 15
F_REPLY = 1
F_NO_REPLY = 1 << 4

# linux/vfio.h
IRQ_DATA_NONE, IRQ_DATA_BOOL, IRQ_DATA_EVENTFD = 1, 2, 4
IRQ_ACT_MASK, IRQ_ACT_UNMASK, IRQ_ACT_TRIGGER = 8, 16, 32
MSIX, INTX = 2, 0
REG_READ, REG_WRITE, REG_MMAP = 1, 2, 4
DEV_PCI, DEV_RESET = 2, 1

CAPS = (b'{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":16384,'
        b'"pgsizes":4096,"max_dma_maps":64,"twin_socket":{"supported":true},'
        b'"write_multiple":true}}\0')
CAPS_REPLY = (b'{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":16384,'
              b'"pgsizes":4096,"max_dma_maps":64,"write_multiple":true}}\0')


def msg(cmd, payload=b'', msg_id=0, flags=0, error=0):
    return struct.pack('<HHIII', msg_id, cmd, 16 + len(payload), flags, error) + payload


def rec(data, nfds=0, flags=0):
    return struct.pack('<BH', nfds | flags, len(data)) + data


def version(json=CAPS):
    return msg(VERSION, struct.pack('<HH', 0, 0) + json, 1)


def region_access(region, offset, count, data=b''):
    return struct.pack('<QII', offset, region, count) + data


def server_seeds():
    s = {}
    s['version'] = rec(version())
    s['version_bare'] = rec(version(b''))
    s['info'] = rec(version()) + b''.join(
        rec(msg(GET_REGION_INFO, struct.pack('<IIIIQQ', 32, 0, i, 0, 0, 0), 10 + i))
        for i in range(9)) + rec(msg(GET_INFO, struct.pack('<IIII', 16, 0, 0, 0), 2)) + \
        b''.join(rec(msg(GET_IRQ_INFO, struct.pack('<IIII', 16, 0, i, 0), 30 + i))
                 for i in range(5))
    s['dma'] = rec(version()) + \
        rec(msg(DMA_MAP, struct.pack('<IIQQQ', 32, 3, 0, 0x100000, 0x10000), 2), 1) + \
        rec(msg(DMA_MAP, struct.pack('<IIQQQ', 32, 1, 0, 0x200000, 0x1000), 3)) + \
        rec(msg(DMA_UNMAP, struct.pack('<IIQQ', 24, 0, 0x100000, 0x10000), 4)) + \
        rec(msg(DMA_UNMAP, struct.pack('<IIQQ', 24, 2, 0, 0), 5))
    s['region_rw'] = rec(version()) + \
        rec(msg(REGION_READ, region_access(0, 0, 64), 2)) + \
        rec(msg(REGION_WRITE, region_access(1, 8, 8, b'ABCDEFGH'), 3)) + \
        rec(msg(REGION_READ, region_access(7, 0, 4), 4)) + \
        rec(msg(REGION_WRITE, region_access(1, 0, 4, b'abcd'), 5, F_NO_REPLY)) + \
        rec(msg(WRITE_MULTI, struct.pack('<Q', 2) +
                struct.pack('<QII', 0, 1, 4) + b'wxyz\0\0\0\0' +
                struct.pack('<QII', 16, 1, 8) + b'12345678', 6))
    s['irqs'] = rec(version()) + \
        rec(msg(SET_IRQS, struct.pack('<IIIII', 20, IRQ_DATA_EVENTFD | IRQ_ACT_TRIGGER,
                                      MSIX, 0, 2), 2), 2, EVENTFD) + \
        rec(msg(SET_IRQS, struct.pack('<IIIII', 20, IRQ_DATA_NONE | IRQ_ACT_TRIGGER,
                                      MSIX, 1, 1), 3)) + \
        rec(msg(SET_IRQS, struct.pack('<IIIII', 20, IRQ_DATA_NONE | IRQ_ACT_MASK,
                                      INTX, 0, 1), 4)) + \
        rec(msg(SET_IRQS, struct.pack('<IIIII', 21, IRQ_DATA_BOOL | IRQ_ACT_UNMASK,
                                      INTX, 0, 1) + b'\1', 5)) + \
        rec(msg(SET_IRQS, struct.pack('<IIIII', 20, IRQ_DATA_NONE | IRQ_ACT_TRIGGER,
                                      MSIX, 0, 0), 6))
    s['io_fds_reset'] = rec(version()) + \
        rec(msg(GET_REGION_IO_FDS, struct.pack('<IIII', 16 + 40 * 4, 0, 0, 0), 2)) + \
        rec(msg(RESET, b'', 3))
    # A device DMA job over messages (no fd, no twin socket): the server's
    # DMA_READ and DMA_WRITE take ids 0 and 1 of the session.
    no_twin = b'{"capabilities":{"max_msg_fds":8,"pgsizes":4096}}\0'
    dma_len = 64
    s['dma_msg'] = rec(version(no_twin)) + \
        rec(msg(DMA_MAP, struct.pack('<IIQQQ', 32, 3, 0, 0x100000, 0x2000), 2)) + \
        rec(msg(REGION_WRITE, region_access(0, 0x810, 8, struct.pack('<Q', dma_len)), 3)) + \
        rec(msg(REGION_WRITE, region_access(0, 0x800, 8, struct.pack('<Q', 0x100000)), 4)) + \
        rec(msg(DMA_READ, struct.pack('<QQ', 0x100000, dma_len) + bytes(range(dma_len)), 0,
                F_REPLY)) + \
        rec(msg(DMA_WRITE, struct.pack('<QI', 0x100000 + dma_len, dma_len), 1, F_REPLY)) + \
        rec(msg(REGION_READ, region_access(0, 0x808, 8), 5))
    whole = version() + msg(GET_INFO, struct.pack('<IIII', 16, 0, 0, 0), 2)
    s['split'] = rec(whole[:7]) + rec(whole[7:30]) + rec(whole[30:])
    return s


def reply(cmd, payload=b'', fds=0, flags=PATCH_ID, error=0):
    hflags = F_REPLY | (1 << 5 if error else 0)
    return rec(msg(cmd, payload, 0, hflags, error), fds, flags)


def region_info(index, flags, size, offset=0):
    return struct.pack('<IIIIQQ', 32, flags, index, 0, size, offset)


def client_seeds():
    s = {}
    attach = reply(VERSION, struct.pack('<HH', 0, 0) + CAPS_REPLY)
    session = attach + \
        reply(GET_INFO, struct.pack('<IIII', 16, DEV_PCI | DEV_RESET, 9, 5)) + \
        reply(GET_REGION_INFO, region_info(0, REG_READ | REG_WRITE, 0x1000)) + \
        reply(GET_REGION_INFO, region_info(1, REG_READ | REG_WRITE, 0x1000)) + \
        reply(GET_REGION_IO_FDS, struct.pack('<IIII', 16 + 40, 0, 0, 1) +
              struct.pack('<QQIIIIQ', 0x100, 4, 0, 0, 0, 0, 0), 1, PATCH_ID | EVENTFD) + \
        reply(GET_IRQ_INFO, struct.pack('<IIII', 16, 0, MSIX, 4)) + \
        reply(REGION_READ, region_access(0, 0, 64, bytes(range(64)))) + \
        reply(REGION_WRITE, region_access(1, 8, 8)) + \
        reply(WRITE_MULTI, struct.pack('<Q', 2)) + \
        reply(DMA_MAP) + \
        rec(msg(DMA_READ, struct.pack('<QQ', 0x100000, 16), 100), 0, NOWAIT) + \
        rec(msg(DMA_WRITE, struct.pack('<QQ', 0x100010, 4) + b'dmaw', 101), 0, NOWAIT)
    s['attach'] = attach
    s['attach_bare'] = reply(VERSION, struct.pack('<HH', 0, 0))
    s['session'] = session + \
        reply(SET_IRQS, b'') + \
        reply(GET_REGION_INFO, region_info(3, REG_READ | REG_WRITE | REG_MMAP, 0x1000),
              1) + \
        reply(RESET) + \
        reply(DMA_UNMAP, struct.pack('<IIQQ', 24, 0, 0x100000, 0x10000))
    s['errors'] = attach + reply(GET_INFO, b'', error=22) + \
        reply(GET_REGION_INFO, b'', error=5) + reply(GET_REGION_INFO, b'', error=1)
    return s


# fuzz_virtq.c: window addresses, ring offsets, descriptor flags.
VQ_RW, VQ_RO, VQ_NOFD = 0x10000, 0x40000, 0x80000
VQ_AVAIL, VQ_USED = 0x400, 0x600
D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4
VQ_READS, VQ_WRITES, VQ_BOTH = 0, 1, 2


def virtq(log2, mode, descs, heads, avail_idx=None):
    """Header, then the read-write window: descriptors (addr, len, flags,
    next), the available ring, buffers from 0x900 on (under 4 KiB in all)."""
    mem = bytearray(0x900)
    for i, (addr, length, flags, nxt) in enumerate(descs):
        struct.pack_into('<QIHH', mem, 16 * i, addr, length, flags, nxt)
    idx = len(heads) if avail_idx is None else avail_idx
    struct.pack_into('<HH', mem, VQ_AVAIL, 0, idx)
    for i, h in enumerate(heads):
        struct.pack_into('<H', mem, VQ_AVAIL + 4 + 2 * i, h)
    mem += bytes(range(256)) * 4
    return bytes([log2, mode, 0]) + bytes(mem)


P_AVAIL, P_USED = 1 << 7, 1 << 15


def virtq_packed(log2, mode, descs):
    """A packed ring in the descriptors' place: (addr, len, id, flags) each,
    the AVAIL bit of the first wrap added."""
    mem = bytearray(0x900)
    for i, (addr, length, bid, flags) in enumerate(descs):
        struct.pack_into('<QIHH', mem, 16 * i, addr, length, bid, flags | P_AVAIL)
    mem += bytes(range(256)) * 4
    return bytes([log2, mode | 8, 0]) + bytes(mem)


def virtq_seeds():
    buf = VQ_RW + 0x900
    return {
        'tx_chain': virtq(3, VQ_READS, [(buf, 12, D_NEXT, 1), (buf + 12, 60, 0, 0)], [0]),
        'rx_bufs': virtq(4, VQ_WRITES | 4, [(buf, 128, D_WRITE, 0),
                                            (buf + 128, 128, D_WRITE, 0),
                                            (buf + 256, 768, D_WRITE, 0)], [0, 1, 2]),
        'ctrl_cmd': virtq(2, VQ_BOTH, [(buf, 2, D_NEXT, 1), (buf + 2, 1, D_NEXT, 2),
                                       (buf + 1000, 1, D_WRITE, 0)], [0]),
        'windows': virtq(3, VQ_WRITES, [(VQ_RO, 64, D_WRITE, 0),
                                        (VQ_NOFD, 64, D_WRITE, 0),
                                        (VQ_RW + 0xfff0, 32, D_WRITE, 0),
                                        (buf, 64, D_WRITE | D_INDIRECT, 0),
                                        (buf, 64, D_WRITE, 0)], [0, 1, 2, 3, 4]),
        'loop': virtq(3, VQ_READS, [(buf, 8, D_NEXT, 1), (buf, 8, D_NEXT, 0)], [0, 9]),
        'idx_ahead': virtq(1, VQ_READS, [(buf, 8, 0, 0)], [0], avail_idx=40),
        'packed_tx': virtq_packed(3, VQ_READS | 4, [(buf, 12, 0, D_NEXT), (buf + 12, 60, 7, 0),
                                                   (buf + 100, 80, 3, 0)]),
        'packed_ctrl': virtq_packed(2, VQ_BOTH, [(buf, 2, 0, D_NEXT), (buf + 2, 1, 0, D_NEXT),
                                                 (buf + 1000, 1, 5, D_WRITE),
                                                 (VQ_NOFD, 8, 6, D_WRITE)]),
        'packed_endless': virtq_packed(2, VQ_WRITES, [(buf, 8, 0, D_WRITE | D_NEXT)] * 4),
    }


def main():
    for name, seeds in (('server', server_seeds()), ('client', client_seeds()),
                        ('virtq', virtq_seeds())):
        out = os.path.join(HERE, 'corpus', name)
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            os.unlink(os.path.join(out, f))
        for seed, data in seeds.items():
            with open(os.path.join(out, seed), 'wb') as f:
                f.write(data)
        print('%s: %d seeds in %s' % (name, len(seeds), out))


if __name__ == '__main__':
    main()
