//! A fork-join team that splits one product or one optimizer step over the threads, or
//! runs a side job (gathering the next batch) on a worker while the caller computes.
//!
//! Why not rayon: a `join` from a thread outside rayon's pool parks the caller on a
//! condition variable until the pool is done, which costs several microseconds on each side,
//! and one training step of the tutorials' models (about 150 µs) splits three times. The
//! team's workers spin for a while after each job, so the next split reaches them in well
//! under a microsecond; they park once training pauses.
//!
//! Parts are claimed, not assigned: the splitting thread and the workers take the next
//! unclaimed part until none is left, so a worker that the system has not scheduled (a busy
//! machine) delays nothing it has not started. One split runs at a time; a split that finds
//! the team busy (another thread training, or a split inside a split) runs all its parts
//! itself. Parts are independent, so the result is the same bits whoever runs them.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long an idle worker spins before it parks: far longer than the gaps between the
/// splits of one training step or of a loop of single-sample predictions, short enough
/// that a paused program gives its cores back at once.
const SPIN: Duration = Duration::from_micros(1000);

/// The most parts one split has.
pub const MAX_THREADS: usize = 64;

/// The current split, as one word: its sequence number (bits 32..64), its number of parts
/// (bits 16..32) and the next unclaimed part (bits 0..16). Claiming is a compare-exchange on
/// the whole word, so a claim can only succeed on the split it read.
static TICKET: AtomicU64 = AtomicU64::new(0);
/// Parts of the current split finished so far.
static DONE: AtomicUsize = AtomicUsize::new(0);
static PANICKED: AtomicBool = AtomicBool::new(false);
/// Until when (nanoseconds after [`epoch`]) splits run on the calling thread alone, after
/// one had to wait for a worker; 0 when no such stretch is on.
static SOLO_UNTIL: AtomicU64 = AtomicU64::new(0);
/// How long the next solo stretch lasts, in nanoseconds: doubled by each late split,
/// halved by every [`PROMPT_RUN`] prompt ones, between [`MIN_SOLO_NS`] and [`MAX_SOLO_NS`].
static SOLO_NS: AtomicU64 = AtomicU64::new(MIN_SOLO_NS);
static PROMPT: AtomicUsize = AtomicUsize::new(0);
/// Splits of two or more parts asked for so far: [`splits_wanted`].
static WANTED: AtomicUsize = AtomicUsize::new(0);

/// A split that waits this long (plus the time the caller spent on its own parts) for a
/// worker's part means a worker lost its core (another program, or the hypervisor: a
/// virtual machine's second CPU now and then stalls for milliseconds). The splits of the
/// next stretch of time then run on the caller alone, as one thread would, instead of
/// waiting again: 0.5 ms after a rare stall, twice as long after each further one, up
/// to 1 s on a machine that is busy for good. A stretch is measured in time, not in
/// splits: counted in splits (16, doubling), the long splits of an LSTM or a wide layer ran
/// alone for tens of milliseconds after a half-millisecond stall. Under a program taking
/// 0.5 ms of one core every 5 ms, W3 at 2 threads took 2.2–2.6 s that way, 1.7–2.1 s with
/// stretches of time and 1.4–1.6 s with none (2.3 s at 1 thread), the LSTM 8.2–10.2 s,
/// 5.8–6.2 s and 5.5–8.9 s; under a program taking a whole core, where the stretches must
/// grow, the two kinds came out alike (W3 2.4–2.7 s, LSTM 9.3–10.3 s) and none at all lost
/// 25–30%.
const LATE: Duration = Duration::from_micros(50);
const MIN_SOLO_NS: u64 = 500_000;
const MAX_SOLO_NS: u64 = 1_000_000_000;
const PROMPT_RUN: usize = 8;

/// The instant that [`SOLO_UNTIL`] counts from.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// The current split's function and float mode. Written only by the thread holding
/// `WORKERS`, between splits (when every claimed part has finished); read only by a thread
/// that has claimed a part of the current split, which then cannot end before it is done.
struct Job {
    f: *const (dyn Fn(usize) + Sync),
    csr: u32,
}
struct JobCell(UnsafeCell<Job>);
// SAFETY: see `Job`: writes and reads never overlap, and the ticket's release/acquire pair
// orders each write before the reads of that split.
unsafe impl Sync for JobCell {}

static NOOP: fn(usize) = |_| {};
static JOB: JobCell = JobCell(UnsafeCell::new(Job { f: &NOOP, csr: 0 }));

struct Worker {
    thread: Thread,
    sleeping: &'static AtomicBool,
}

/// The workers started so far, and when the last split handed work to them; held for the
/// whole of a split.
struct Team {
    workers: Vec<Worker>,
    last_split: Option<Instant>,
}
static WORKERS: Mutex<Team> = Mutex::new(Team {
    workers: Vec::new(),
    last_split: None,
});

fn unpack(t: u64) -> (usize, usize) {
    (((t >> 16) & 0xffff) as usize, (t & 0xffff) as usize)
}

/// Claims the next part of the current split, if one is left.
fn claim() -> Option<usize> {
    let mut t = TICKET.load(Ordering::Acquire);
    loop {
        let (parts, next) = unpack(t);
        if next >= parts {
            return None;
        }
        match TICKET.compare_exchange_weak(t, t + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some(next),
            Err(now) => t = now,
        }
    }
}

/// Runs the parts this thread can claim (a panic is recorded for the splitting thread).
fn run_claimed() {
    while let Some(i) = claim() {
        // SAFETY: this thread holds a claim on the current split, so its job stays in place
        // until the part is counted done below.
        let job = unsafe { &*JOB.0.get() };
        super::cpu::set_csr(job.csr);
        // SAFETY: as above; `f` is Sync and outlives the split.
        let f = unsafe { &*job.f };
        if catch_unwind(AssertUnwindSafe(|| f(i))).is_err() {
            PANICKED.store(true, Ordering::SeqCst);
        }
        DONE.fetch_add(1, Ordering::Release);
    }
}

/// Runs `f(0)`, ..., `f(parts - 1)` on up to `parts` threads (the caller is one of them)
/// and returns when all have finished. Each part must touch data of its own.
pub fn split(parts: usize, f: &(dyn Fn(usize) + Sync)) {
    let parts = parts.min(MAX_THREADS);
    if parts <= 1 {
        return (0..parts).for_each(f);
    }
    WANTED.fetch_add(1, Ordering::Relaxed);
    let Some(team) = take_team() else {
        return (0..parts).for_each(f);
    };
    let split = Published::new(team, parts, parts - 1, f);
    run_claimed();
    split.finish();
}

/// Runs `main` on the calling thread while a worker runs `side(0)`, and returns `main`'s
/// result once both have finished: for work that does not depend on `main`, such as
/// gathering the next batch while a training step runs. `main` keeps the calling thread
/// (and its thread-local state); splits inside it find the team busy and run on the caller
/// alone, so this pays only when `main` would not split (see [`splits_wanted`]). With one
/// thread, a busy team or no worker free in time, the caller runs `side` itself after
/// `main`: the outcome is the same either way.
pub fn overlap<R>(threads: usize, main: impl FnOnce() -> R, side: &(dyn Fn(usize) + Sync)) -> R {
    #[cfg(test)]
    if threads > 1 {
        OVERLAPS.with(|n| n.set(n.get() + 1));
    }
    let Some(team) = (threads > 1).then(take_team).flatten() else {
        let r = main();
        side(0);
        return r;
    };
    let split = Published::new(team, 1, 1, side);
    // `side` borrows from our caller: on a panic in `main`, run or wait for it first.
    let r = catch_unwind(AssertUnwindSafe(main));
    run_claimed();
    split.finish();
    r.unwrap_or_else(|p| resume_unwind(p))
}

#[cfg(test)]
thread_local! {
    /// [`overlap`] calls with two or more threads made by this thread.
    static OVERLAPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many times this thread has called [`overlap`] with two or more threads (whether or
/// not a worker took the side job).
#[cfg(test)]
pub fn overlaps_here() -> usize {
    OVERLAPS.with(|n| n.get())
}

/// How many splits of two or more parts have been asked for so far (whether or not workers
/// ran them): a caller compares two readings to learn whether its work uses the team.
pub fn splits_wanted() -> usize {
    WANTED.load(Ordering::Relaxed)
}

/// The team, unless a solo stretch is on or another split holds it.
fn take_team() -> Option<MutexGuard<'static, Team>> {
    let until = SOLO_UNTIL.load(Ordering::Relaxed);
    if until != 0 {
        if now_ns() < until {
            return None;
        }
        // Over: later splits skip the clock (unless a new stretch began meanwhile).
        let _ = SOLO_UNTIL.compare_exchange(until, 0, Ordering::Relaxed, Ordering::Relaxed);
    }
    match WORKERS.try_lock() {
        Ok(w) => Some(w),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// A split handed to the workers, until every part is done (see its `Drop`).
struct Published {
    /// Held until the split has ended.
    _team: MutexGuard<'static, Team>,
    parts: usize,
    csr: u32,
    start: Instant,
    late: bool,
    woke: bool,
}

impl Published {
    /// Publishes `f`'s parts for the caller and `helpers` workers, and wakes those that
    /// sleep.
    fn new(
        mut team: MutexGuard<'static, Team>,
        parts: usize,
        helpers: usize,
        f: &(dyn Fn(usize) + Sync),
    ) -> Self {
        start_workers(&mut team, helpers);
        let csr = super::cpu::get_csr();
        // SAFETY: we hold WORKERS and the previous split has ended (every claimed part
        // counted done), so nobody reads JOB now. The lifetime of `f` is erased; no part
        // uses it after `finish` returns, which waits until every part is done, and the
        // callers keep `f` alive until then.
        unsafe {
            let f: *const (dyn Fn(usize) + Sync + '_) = f;
            *JOB.0.get() = Job {
                f: std::mem::transmute::<
                    *const (dyn Fn(usize) + Sync + '_),
                    *const (dyn Fn(usize) + Sync + 'static),
                >(f),
                csr,
            };
        }
        DONE.store(0, Ordering::Relaxed);
        let sequence = (TICKET.load(Ordering::Relaxed) >> 32).wrapping_add(1);
        TICKET.store((sequence << 32) | ((parts as u64) << 16), Ordering::SeqCst);
        // A worker asleep although the last split was less than a spin ago has lost its
        // core, as with a late part in `finish`. (After a longer gap, sleeping is what
        // workers do.)
        let start = Instant::now();
        let recent = team.last_split.is_some_and(|t| start - t < SPIN);
        team.last_split = Some(start);
        let mut late = false;
        // A worker woken now takes a while to start (tens to hundreds of microseconds on a
        // virtual machine); that is no sign of a lost core, so such a split is not judged
        // by how long it waits.
        let mut woke = false;
        for w in team.workers.iter().take(helpers) {
            if w.sleeping.load(Ordering::SeqCst) {
                w.thread.unpark();
                woke = true;
                late |= recent;
            }
        }
        Published {
            _team: team,
            parts,
            csr,
            start,
            late,
            woke,
        }
    }

    /// Waits until every part is done (the caller has claimed what it could) and hands the
    /// team back (the `Drop` below), then passes on a part's panic.
    fn finish(self) {
        drop(self);
        if PANICKED.swap(false, Ordering::SeqCst) {
            resume_unwind(Box::new("a part of a parallel kernel panicked"));
        }
    }
}

/// The wait is in `drop`, so that no path out of a split (a panic included) can leave a
/// worker running a job whose closure is gone.
impl Drop for Published {
    fn drop(&mut self) {
        if DONE.load(Ordering::Acquire) != self.parts {
            let waiting = Instant::now();
            // Parts are never quite equal, and a worker's part may read data that is in the
            // caller's cache: a wait is late only when the split took longer than running
            // both parts here would have (the wait exceeds our own share).
            let allowance = LATE + (waiting - self.start);
            let mut spins = 0u32;
            while DONE.load(Ordering::Acquire) != self.parts {
                // A worker that claimed a part may have lost its core; offer it ours.
                spins += 1;
                if spins < 1 << 10 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            self.late |= !self.woke && waiting.elapsed() > allowance;
        }
        if self.late {
            let solo = SOLO_NS.load(Ordering::Relaxed);
            SOLO_UNTIL.store(now_ns() + solo, Ordering::Relaxed);
            SOLO_NS.store((solo * 2).min(MAX_SOLO_NS), Ordering::Relaxed);
        } else {
            prompt();
        }
        super::cpu::set_csr(self.csr);
        // `team` (the lock) is released after this, when the fields drop.
    }
}

/// Counts a split whose workers kept up; a run of them shortens the next solo stretch.
fn prompt() {
    if PROMPT.fetch_add(1, Ordering::Relaxed) % PROMPT_RUN == PROMPT_RUN - 1 {
        let solo = SOLO_NS.load(Ordering::Relaxed);
        SOLO_NS.store((solo / 2).max(MIN_SOLO_NS), Ordering::Relaxed);
    }
}

fn start_workers(team: &mut MutexGuard<'_, Team>, want: usize) {
    let workers = &mut team.workers;
    while workers.len() < want {
        let sleeping: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let spawned = std::thread::Builder::new()
            .name(format!("kerust-{}", workers.len() + 1))
            .spawn(move || work(sleeping));
        match spawned {
            Ok(handle) => workers.push(Worker {
                thread: handle.thread().clone(),
                sleeping,
            }),
            // No more threads: the caller claims the parts nobody else does.
            Err(_) => break,
        }
    }
}

/// A worker's life: claim parts while there are any, spin a while, then park.
fn work(sleeping: &'static AtomicBool) {
    loop {
        run_claimed();
        let mut idle_since = Instant::now();
        let mut seen = TICKET.load(Ordering::Acquire) >> 32;
        let mut spins = 0u32;
        loop {
            let t = TICKET.load(Ordering::Acquire);
            let (parts, next) = unpack(t);
            if next < parts {
                break;
            }
            // A split whose parts were all claimed before this worker looked still counts
            // as activity: the next one is probably near, so keep spinning.
            if t >> 32 != seen {
                seen = t >> 32;
                idle_since = Instant::now();
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) || idle_since.elapsed() < SPIN {
                std::hint::spin_loop();
                continue;
            }
            // Sleeping is announced before the last look at the ticket, and a split
            // publishes its ticket before it looks for sleepers, so one of the two sees the
            // other: no split goes unnoticed (and an early unpark is kept for `park`).
            sleeping.store(true, Ordering::SeqCst);
            let (parts, next) = unpack(TICKET.load(Ordering::SeqCst));
            if next >= parts {
                std::thread::park();
            }
            sleeping.store(false, Ordering::SeqCst);
            idle_since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once() {
        for parts in [0, 1, 2, 3, 5] {
            let hits: Vec<AtomicU64> = (0..parts).map(|_| AtomicU64::new(0)).collect();
            for _ in 0..200 {
                split(parts, &|i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 200));
        }
    }

    #[test]
    fn splits_from_many_threads_and_nested_splits_all_complete() {
        let total = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        split(2, &|_| {
                            split(2, &|_| {
                                total.fetch_add(1, Ordering::Relaxed);
                            })
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 100 * 4);
    }

    #[test]
    fn overlap_runs_main_on_the_caller_and_the_side_job_once() {
        let me = std::thread::current().id();
        for threads in [1, 2, 3] {
            for _ in 0..50 {
                let runs = AtomicU64::new(0);
                let side_thread = Mutex::new(None);
                let r = overlap(
                    threads,
                    || {
                        assert_eq!(std::thread::current().id(), me);
                        7
                    },
                    &|i| {
                        assert_eq!(i, 0);
                        runs.fetch_add(1, Ordering::Relaxed);
                        *side_thread.lock().unwrap() = Some(std::thread::current().id());
                    },
                );
                assert_eq!(r, 7);
                assert_eq!(runs.load(Ordering::Relaxed), 1, "{threads} threads");
                if threads == 1 {
                    assert_eq!(*side_thread.lock().unwrap(), Some(me));
                }
            }
        }
    }

    #[test]
    fn a_panic_in_overlaps_main_leaves_no_side_job_running() {
        for _ in 0..20 {
            let runs = AtomicU64::new(0);
            let r = catch_unwind(AssertUnwindSafe(|| {
                overlap(2, || panic!("main fails"), &|_| {
                    std::thread::sleep(Duration::from_micros(200));
                    runs.fetch_add(1, Ordering::Relaxed);
                })
            }));
            assert!(r.is_err());
            // A side job that started (on a worker, or on the caller after `main`) had
            // finished before the panic left `overlap`; none starts afterwards.
            let seen = runs.load(Ordering::Relaxed);
            assert!(seen <= 1);
            std::thread::sleep(Duration::from_millis(1));
            assert_eq!(runs.load(Ordering::Relaxed), seen);
        }
        let n = AtomicU64::new(0);
        split(2, &|_| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn after_a_late_split_the_caller_runs_alone_for_a_stretch_then_the_team_returns() {
        let on_worker = || {
            std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("kerust-"))
        };
        // A worker that takes a part and then stalls for 5 ms (as when it loses its core)
        // makes a late split; a split that had to wake the worker first is not judged.
        // (Other tests split at the same time: wait for a stretch with 200 µs still to go.)
        let deadline = Instant::now() + Duration::from_secs(20);
        while SOLO_UNTIL.load(Ordering::Relaxed) < now_ns() + 200_000 {
            assert!(Instant::now() < deadline, "no split was judged late");
            split(2, &|_| {
                if on_worker() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
        }
        // Within the stretch every part runs here.
        let on_a_worker = AtomicBool::new(false);
        split(2, &|_| {
            on_a_worker.fetch_or(on_worker(), Ordering::Relaxed);
        });
        assert!(!on_a_worker.load(Ordering::Relaxed));
        // Once it has passed, workers take parts again.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !on_a_worker.load(Ordering::Relaxed) {
            assert!(Instant::now() < deadline, "the team never came back");
            split(2, &|_| {
                if on_worker() {
                    on_a_worker.store(true, Ordering::Relaxed);
                } else {
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_micros(20) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
    }

    #[test]
    fn a_panicking_part_reaches_the_caller_and_the_team_survives() {
        for _ in 0..20 {
            let r = catch_unwind(|| split(2, &|i| assert!(i != 1, "part one fails")));
            assert!(r.is_err());
        }
        let n = AtomicU64::new(0);
        split(2, &|_| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 2);
    }
}
