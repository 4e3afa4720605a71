#ifndef CRLHF_SPIN_WAIT_H
#define CRLHF_SPIN_WAIT_H

/// A spin-wait hint (x86 `pause`, ARM `yield`): lets the core idle briefly while a thread polls.
static inline void rlhf_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

#endif
