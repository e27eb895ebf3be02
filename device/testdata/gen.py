import os, sys
base = "/work/main/device/testdata"

def w(tree, rel, content, binary=False):
    p = os.path.join(base, tree, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    mode = "wb" if binary else "w"
    with open(p, mode) as f:
        f.write(content)

def meminfo(total_kb, avail_kb, swap_kb, free_kb):
    return f"""MemTotal:       {total_kb} kB
MemFree:        {free_kb} kB
MemAvailable:   {avail_kb} kB
Buffers:           41232 kB
Cached:           612344 kB
SwapCached:            0 kB
Active:           402188 kB
Inactive:         571900 kB
SwapTotal:      {swap_kb} kB
SwapFree:       {swap_kb} kB
Dirty:                48 kB
Shmem:             21504 kB
"""

def arm64_cpu(n, feats, part, variant="0x0", revision="3", bogomips="108.00"):
    return f"""processor	: {n}
BogoMIPS	: {bogomips}
Features	: {feats}
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: {variant}
CPU part	: {part}
CPU revision	: {revision}

"""

def cpudirs(tree, n, maxkhz=None, curkhz=None, gov=None, capacity=None, caches=None, core_id=None):
    d = f"sys/devices/system/cpu/cpu{n}/"
    if capacity is not None:
        w(tree, d + "cpu_capacity", f"{capacity}\n")
    if maxkhz is not None:
        w(tree, d + "cpufreq/cpuinfo_max_freq", f"{maxkhz}\n")
        w(tree, d + "cpufreq/cpuinfo_min_freq", f"{maxkhz//4}\n")
        w(tree, d + "cpufreq/scaling_cur_freq", f"{curkhz}\n")
        w(tree, d + "cpufreq/scaling_governor", f"{gov}\n")
    w(tree, d + "topology/core_id", f"{n if core_id is None else core_id}\n")
    w(tree, d + "topology/physical_package_id", "0\n")
    if caches:
        for i, (level, typ, size) in enumerate(caches):
            w(tree, d + f"cache/index{i}/level", f"{level}\n")
            w(tree, d + f"cache/index{i}/type", f"{typ}\n")
            w(tree, d + f"cache/index{i}/size", f"{size}\n")

def thermal(tree, zones):
    for i, (typ, milli) in enumerate(zones):
        w(tree, f"sys/class/thermal/thermal_zone{i}/type", typ + "\n")
        w(tree, f"sys/class/thermal/thermal_zone{i}/temp", f"{milli}\n")

def dt(tree, model, compat, where="proc/device-tree"):
    w(tree, where + "/model", (model + "\0").encode(), True)
    w(tree, where + "/compatible", b"".join(c.encode() + b"\0" for c in compat), True)

def cgroup_v1_unlimited(tree):
    w(tree, "proc/self/cgroup", "12:memory:/user.slice\n11:cpu,cpuacct:/user.slice\n0::/user.slice/user-1000.slice/session-3.scope\n")

# ---- Raspberry Pi 4B, 64-bit OS (Raspberry Pi OS bookworm arm64), 4 GB, throttled since boot.
t = "rpi4b-64bit"
a72 = "fp asimd evtstrm crc32 cpuid"
w(t, "proc/cpuinfo", "".join(arm64_cpu(i, a72, "0xd08") for i in range(4)) +
  "Revision\t: c03114\nSerial\t\t: 100000003a1b2c3d\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n")
w(t, "proc/meminfo", meminfo(3885396, 3301220, 102396, 2911044))
w(t, "proc/self/cgroup", "0::/user.slice/user-1000.slice/session-3.scope\n")
w(t, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
w(t, "sys/fs/cgroup/user.slice/memory.max", "max\n")
w(t, "sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/memory.max", "max\n")
w(t, "sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/cpu.max", "max 100000\n")
w(t, "sys/devices/system/cpu/online", "0-3\n")
for i in range(4):
    cpudirs(t, i, 1800000, 600000, "ondemand", caches=[(1, "Data", "32K"), (1, "Instruction", "48K"), (2, "Unified", "1024K")])
dt(t, "Raspberry Pi 4 Model B Rev 1.4", ["raspberrypi,4-model-b", "brcm,bcm2711"])
thermal(t, [("cpu-thermal", 61842)])
# under-voltage has occurred + throttling has occurred since boot, nothing now
w(t, "sys/devices/platform/soc/soc:firmware/get_throttled", "50000\n")
w(t, "etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\n')

# ---- Raspberry Pi 4B, 32-bit OS (Raspberry Pi OS bullseye armhf), 2 GB, under-voltage now.
t = "rpi4b-32bit"
v7 = "half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32"
blk = "".join(f"""processor	: {i}
model name	: ARMv7 Processor rev 3 (v7l)
BogoMIPS	: 108.00
Features	: {v7}
CPU implementer	: 0x41
CPU architecture: 7
CPU variant	: 0x0
CPU part	: 0xd08
CPU revision	: 3

""" for i in range(4))
w(t, "proc/cpuinfo", blk + "Hardware\t: BCM2711\nRevision\t: b03112\nSerial\t\t: 10000000deadbeef\nModel\t\t: Raspberry Pi 4 Model B Rev 1.2\n")
w(t, "proc/meminfo", meminfo(1893128, 1502332, 102396, 1288120))
cgroup_v1_unlimited(t)
w(t, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
w(t, "sys/fs/cgroup/memory/user.slice/memory.limit_in_bytes", "9223372036854771712\n")
w(t, "sys/devices/system/cpu/online", "0-3\n")
for i in range(4):
    cpudirs(t, i, 1500000, 1500000, "performance")
dt(t, "Raspberry Pi 4 Model B Rev 1.2", ["raspberrypi,4-model-b", "brcm,bcm2711"])
thermal(t, [("cpu-thermal", 72500)])
# under-voltage now, capped now, and both since boot
w(t, "sys/devices/platform/soc/soc:firmware/get_throttled", "30003\n")
w(t, "etc/os-release", 'PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nID=raspbian\n')

# ---- Raspberry Pi 5, 8 GB, device tree under /sys/firmware only, no throttling.
t = "rpi5"
a76 = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
w(t, "proc/cpuinfo", "".join(arm64_cpu(i, a76, "0xd0b", variant="0x4", revision="1") for i in range(4)) +
  "Revision\t: d04170\nSerial\t\t: 5a1b2c3d4e5f6a7b\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n")
w(t, "proc/meminfo", meminfo(8245232, 7710420, 204784, 7402112))
w(t, "proc/self/cgroup", "0::/user.slice/user-1000.slice/session-1.scope\n")
w(t, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
w(t, "sys/fs/cgroup/user.slice/user-1000.slice/session-1.scope/memory.max", "max\n")
w(t, "sys/devices/system/cpu/online", "0-3\n")
for i in range(4):
    cpudirs(t, i, 2400000, 1500000, "ondemand", caches=[(1, "Data", "64K"), (1, "Instruction", "64K"), (2, "Unified", "512K"), (3, "Unified", "2048K")])
dt(t, "Raspberry Pi 5 Model B Rev 1.0", ["raspberrypi,5-model-b", "brcm,bcm2712"], where="sys/firmware/devicetree/base")
thermal(t, [("cpu-thermal", 48350)])
w(t, "sys/devices/platform/soc/soc:firmware/get_throttled", "0\n")
w(t, "etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')

# ---- Jetson Nano (L4T 32.7, Ubuntu 18.04), 4 GB, one CPU offline, cgroup v1.
t = "jetson-nano"
a57 = "fp asimd evtstrm aes pmull sha1 sha2 crc32"
w(t, "proc/cpuinfo", "".join(arm64_cpu(i, a57, "0xd07", variant="0x1", revision="1", bogomips="38.40") for i in [0, 1, 2]))
w(t, "proc/meminfo", meminfo(4051032, 2688304, 2025504, 2201968))
cgroup_v1_unlimited(t)
w(t, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
w(t, "sys/devices/system/cpu/online", "0-2\n")
w(t, "sys/devices/system/cpu/offline", "3\n")
for i in range(3):
    cpudirs(t, i, 1479000, 921600, "schedutil")
dt(t, "NVIDIA Jetson Nano Developer Kit", ["nvidia,p3450-0000", "nvidia,jetson-nano", "nvidia,tegra210"])
thermal(t, [("AO-therm", 39500), ("CPU-therm", 41000), ("GPU-therm", 39000), ("PLL-therm", 38750), ("PMIC-Die", 100000), ("thermal-fan-est", 40400)])
w(t, "etc/os-release", 'PRETTY_NAME="Ubuntu 18.04.6 LTS"\n')

# ---- Jetson Orin Nano 8 GB devkit (JetPack 6), 6 × A78AE in two clusters, cgroup v2.
t = "jetson-orin-nano"
a78 = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp uscat ilrcpc flagm paca pacg"
w(t, "proc/cpuinfo", "".join(arm64_cpu(i, a78, "0xd42", variant="0x0", revision="1", bogomips="62.50") for i in range(6)))
w(t, "proc/meminfo", meminfo(7812572, 5923412, 3906272, 5012000))
w(t, "proc/self/cgroup", "0::/user.slice/user-1000.slice/session-c2.scope\n")
w(t, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n")
w(t, "sys/fs/cgroup/user.slice/memory.max", "max\n")
w(t, "sys/devices/system/cpu/online", "0-5\n")
for i in range(6):
    cpudirs(t, i, 1510400, 729600, "schedutil", core_id=i % 4,
            caches=[(1, "Data", "64K"), (1, "Instruction", "64K"), (2, "Unified", "256K"), (3, "Unified", "2048K")])
# cluster0 = cpu0-3, cluster1 = cpu4-5: distinct package ids
for i in (4, 5):
    w(t, f"sys/devices/system/cpu/cpu{i}/topology/physical_package_id", "1\n")
dt(t, "NVIDIA Jetson Orin Nano Developer Kit", ["nvidia,p3768-0000+p3767-0005", "nvidia,p3767-0005", "nvidia,tegra234"])
thermal(t, [("cpu-thermal", 47906), ("gpu-thermal", 46500), ("cv0-thermal", -256000), ("soc0-thermal", 46843), ("tj-thermal", 47906)])
w(t, "etc/os-release", 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\n')

# ---- x86 server container: AMD EPYC, 16 logical CPUs, cgroup v2 memory.max 512 MiB, cpu.max 2 CPUs.
t = "x86-container-512m"
flags = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt "
         "pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf pni pclmulqdq monitor ssse3 fma cx16 "
         "pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a "
         "misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 "
         "cdp_l3 invpcid_single hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a "
         "avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 "
         "xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local avx512_bf16 clzero irperf xsaveerptr rdpru wbnoinvd amd_ppin "
         "cppc arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic "
         "v_vmsave_vmload vgif x2avic v_spec_ctrl vnmi avx512vbmi umip pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni "
         "avx512_bitalg avx512_vpopcntdq la57 rdpid overflow_recov succor smca fsrm flush_l1d")
blk = ""
for i in range(16):
    blk += f"""processor	: {i}
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 17
model name	: AMD EPYC 9354 32-Core Processor
stepping	: 1
microcode	: 0xa101144
cpu MHz		: 3249.998
cache size	: 1024 KB
physical id	: 0
siblings	: 16
core id		: {i // 2}
cpu cores	: 8
apicid		: {i}
fpu		: yes
flags		: {flags}
bogomips	: 6499.99
TLB size	: 3584 4K pages
clflush size	: 64
cache_alignment	: 64
address sizes	: 52 bits physical, 57 bits virtual

"""
w(t, "proc/cpuinfo", blk)
w(t, "proc/meminfo", meminfo(65842860, 61220128, 0, 60120044))
w(t, "proc/self/cgroup", "0::/\n")
w(t, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
w(t, "sys/fs/cgroup/memory.max", "536870912\n")
w(t, "sys/fs/cgroup/memory.current", "41943040\n")
w(t, "sys/fs/cgroup/cpu.max", "200000 100000\n")
w(t, "sys/devices/system/cpu/online", "0-15\n")
for i in range(16):
    cpudirs(t, i, core_id=i // 2, caches=[(1, "Data", "32K"), (1, "Instruction", "32K"), (2, "Unified", "1024K"), (3, "Unified", "32768K")])
w(t, "sys/class/dmi/id/product_name", "PowerEdge R6625\n")
w(t, "sys/class/dmi/id/sys_vendor", "Dell Inc.\n")
w(t, "etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
