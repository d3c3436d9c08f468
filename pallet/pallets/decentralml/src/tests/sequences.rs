//! Random call sequences with the invariants checked after every step.
//!
//! The generator is goal-directed: it picks existing tasks, takes workers from live
//! assignments and callers from each task's reviewers, with a minority of wrong callers and
//! bad arguments, so every call (and every payment path) succeeds often enough to matter. The
//! test prints how often each call succeeded and failed, and asserts a minimum of successes
//! per call: a total would hide a path the generator stopped reaching.

use super::{mock::*, utils::*};
use crate::*;
use alloc::collections::btree_map::BTreeMap;
use frame::{
	deps::frame_support::traits::{LockableCurrency, WithdrawReasons},
	testing_prelude::*,
};
use polkadot_sdk::polkadot_sdk_frame as frame;

/// A small deterministic generator (xorshift64*), so failures replay from their seed.
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 >> 12;
		self.0 ^= self.0 << 25;
		self.0 ^= self.0 >> 27;
		self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
	}
	fn below(&mut self, n: u64) -> u64 {
		self.next() % n
	}
	/// True with probability `percent` in 100.
	fn chance(&mut self, percent: u64) -> bool {
		self.below(100) < percent
	}
	fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
		(!items.is_empty()).then(|| items[self.below(items.len() as u64) as usize].clone())
	}
}

const ACCOUNTS: [AccountId; 7] = [ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE, POOR];
/// How often a call is made by the wrong account or with a wrong argument, in percent.
const WRONG: u64 = 15;
const SEQUENCES: u64 = 1_000;
const STEPS: u64 = 100;

/// Successes and failures per call, over a whole run.
#[derive(Default)]
struct Counts(BTreeMap<&'static str, (u64, u64)>);

impl Counts {
	fn record(&mut self, call: &'static str, ok: bool) {
		let entry = self.0.entry(call).or_default();
		if ok {
			entry.0 += 1;
		} else {
			entry.1 += 1;
		}
	}
	fn successes(&self, call: &str) -> u64 {
		self.0.get(call).map(|c| c.0).unwrap_or_default()
	}
	fn print(&self) {
		println!("{:<28} {:>8} {:>8}", "call", "ok", "failed");
		for (call, (ok, failed)) in &self.0 {
			println!("{call:<28} {ok:>8} {failed:>8}");
		}
	}
}

fn open_tasks() -> Vec<(TaskId, TaskOf<Test>)> {
	Tasks::<Test>::iter().filter(|(_, t)| t.is_open()).collect()
}

fn is_submitted(a: &AssignmentOf<Test>) -> bool {
	matches!(a, Assignment::Submitted { .. })
}

fn is_assigned(a: &AssignmentOf<Test>) -> bool {
	matches!(a, Assignment::Assigned { .. })
}

fn is_committed(a: &AssignmentOf<Test>) -> bool {
	matches!(a, Assignment::Committed { .. })
}

fn is_sealed(t: &TaskOf<Test>) -> bool {
	matches!(t.submission, Submission::Sealed { .. })
}

/// The first block after a task's results are in: its deadline, or the end of its reveal
/// period when sealed.
fn results_end(t: &TaskOf<Test>) -> u64 {
	match t.submission {
		Submission::Plain => t.deadline,
		Submission::Sealed { reveal_period } => t.deadline + reveal_period,
	}
}

/// What the workers of one sequence committed to, so they can reveal it: the result's tag by
/// task and worker.
#[derive(Default)]
struct Secrets(BTreeMap<(TaskId, AccountId), String>);

/// A random `(task, worker)` whose assignment matches `pred`, over the open tasks.
fn pick_assignment(
	rng: &mut Rng,
	pred: impl Fn(&AssignmentOf<Test>) -> bool,
) -> Option<(TaskId, TaskOf<Test>, AccountId)> {
	pick_due(rng, |a, _| pred(a))
}

/// A random `(task, worker)` over the open tasks whose assignment, seen with its task,
/// matches `due`.
fn pick_due(
	rng: &mut Rng,
	due: impl Fn(&AssignmentOf<Test>, &TaskOf<Test>) -> bool,
) -> Option<(TaskId, TaskOf<Test>, AccountId)> {
	let mut candidates = Vec::new();
	for (id, task) in open_tasks() {
		for (worker, assignment) in Assignments::<Test>::iter_prefix(id) {
			if due(&assignment, &task) {
				candidates.push((id, task.clone(), worker));
			}
		}
	}
	rng.pick(&candidates)
}

/// Whether the task's reviewers decide results at all: on every third task they never do, so
/// its results wait for a claim, a close or a force close, as with an absent reviewer.
fn reviews(task: &TaskOf<Test>) -> bool {
	!task.deadline.is_multiple_of(3)
}

/// Whether the task's workers claim their rewards: on every fourth task they leave them to
/// the close.
fn claims(task: &TaskOf<Test>) -> bool {
	!task.deadline.is_multiple_of(4)
}

fn reviewers(task: &TaskOf<Test>) -> Vec<AccountId> {
	core::iter::once(task.creator).chain(task.validator).collect()
}

/// A random account, or (mostly) one of `right`.
fn caller(rng: &mut Rng, right: &[AccountId]) -> AccountId {
	match rng.pick(right) {
		Some(who) if !rng.chance(WRONG) => who,
		_ => rng.pick(&ACCOUNTS).expect("non-empty"),
	}
}

fn task_id_or_unknown(rng: &mut Rng, task_id: TaskId) -> TaskId {
	if rng.chance(WRONG / 3) {
		NextTaskId::<Test>::get().wrapping_add(1)
	} else {
		task_id
	}
}

/// The task of the last `ModelPublished` event.
fn last_published_task() -> TaskOf<Test> {
	let id = System::events()
		.into_iter()
		.rev()
		.find_map(|r| match r.event {
			RuntimeEvent::Decentralml(Event::ModelPublished { task_id, .. }) => Some(task_id),
			_ => None,
		})
		.expect("a successful publish emits ModelPublished");
	task(id)
}

/// Blocks after `now` at which some call's outcome changes.
fn milestones(now: u64) -> Vec<u64> {
	let mut blocks = Vec::new();
	for (_, task) in Tasks::<Test>::iter() {
		if let Some(ended_at) = task.ended_at {
			blocks.push(ended_at + RETENTION_PERIOD);
		}
	}
	for (id, task) in open_tasks() {
		blocks.push(task.deadline);
		blocks.push(results_end(&task));
		for (_, assignment) in Assignments::<Test>::iter_prefix(id) {
			match assignment {
				Assignment::Assigned { at, .. } => blocks.push(at + task.work_period),
				Assignment::Submitted { at, .. } => blocks.push(at + task.review_period),
				_ => {},
			}
		}
	}
	blocks.retain(|b| *b > now);
	blocks
}

/// One random call, retried with another pick when the first found nothing to act on.
fn random_step(
	rng: &mut Rng,
	cids: &mut u64,
	secrets: &mut Secrets,
) -> Option<(&'static str, DispatchResult, u32)> {
	let now = System::block_number();
	for _ in 0..4 {
		if let Some(step) = try_random_step(rng, cids, secrets) {
			return Some(step);
		}
		if System::block_number() != now {
			// Time moved: that was the step.
			return None;
		}
	}
	None
}

/// One random call. Returns its name, its result and, for a close, how many results it paid.
fn try_random_step(
	rng: &mut Rng,
	cids: &mut u64,
	secrets: &mut Secrets,
) -> Option<(&'static str, DispatchResult, u32)> {
	let now = System::block_number();
	let no_pay = |r: DispatchResult| (r, 0);
	let (call, (result, paid)) = match rng.below(44) {
		0..=1 => {
			let creator = rng.pick(&ACCOUNTS).expect("non-empty");
			let policy = rng
				.pick(&[
					ValidationPolicy::AutoAccept,
					ValidationPolicy::ManualAccept,
					ValidationPolicy::ManualAccept,
					ValidationPolicy::CustomAccept,
				])
				.expect("non-empty");
			// AutoAccept must be sealed (but is sometimes asked plain); the others either.
			let sealed = if policy == ValidationPolicy::AutoAccept {
				!rng.chance(WRONG)
			} else {
				rng.chance(40)
			};
			let spec = NewTask {
				policy,
				submission: if sealed {
					Submission::Sealed { reveal_period: 1 + rng.below(10) }
				} else {
					Submission::Plain
				},
				reward: if rng.chance(WRONG) { 0 } else { rng.pick(&[REWARD, 5_000]).unwrap() },
				slots: 1 + rng.below(MAX_SLOTS as u64) as u32,
				deadline: now + rng.below(30),
				review_period: 1 + rng.below(10),
				work_period: 1 + rng.below(10),
				validator: if rng.chance(40) { rng.pick(&ACCOUNTS) } else { None },
				..Default::default()
			};
			("create_task", no_pay(spec.create(creator)))
		},
		2..=6 => {
			// Mostly a task that can take someone.
			let open = open_tasks();
			let takes: Vec<_> = open
				.iter()
				.filter(|(_, t)| now < t.deadline && t.free_slots() > 0)
				.cloned()
				.collect();
			let picked = if rng.chance(85) { rng.pick(&takes) } else { rng.pick(&open) };
			let (id, task) = picked?;
			let strangers: Vec<_> = ACCOUNTS
				.into_iter()
				.filter(|a| !task.is_reviewer(a) && Assignments::<Test>::get(id, a).is_none())
				.collect();
			let worker = caller(rng, &strangers);
			("assign_task", no_pay(Decentralml::assign_task(RuntimeOrigin::signed(worker), id)))
		},
		7..=11 => {
			// Mostly a slot whose task still takes results.
			let picked = if rng.chance(85) {
				pick_due(rng, |a, t| is_assigned(a) && now < t.deadline && !is_sealed(t))
			} else {
				pick_assignment(rng, is_assigned)
			};
			let (id, _, worker) = picked?;
			let worker = caller(rng, &[worker]);
			// Mostly fresh CIDs, sometimes a repeat of an earlier one.
			if !rng.chance(WRONG) {
				*cids += 1;
			}
			let result = content(&format!("r{cids}"));
			let origin = RuntimeOrigin::signed(worker);
			("submit_result", no_pay(Decentralml::submit_result(origin, id, result)))
		},
		12..=14 => {
			let (id, task, worker) = pick_due(rng, |a, t| is_submitted(a) && reviews(t))?;
			let origin = RuntimeOrigin::signed(caller(rng, &reviewers(&task)));
			let id = task_id_or_unknown(rng, id);
			("accept_result", no_pay(Decentralml::accept_result(origin, id, worker)))
		},
		15..=17 => {
			// Mostly a result still within its review period.
			let in_review = |a: &AssignmentOf<Test>, t: &TaskOf<Test>| {
				reviews(t)
					&& matches!(a, Assignment::Submitted { at, .. } if now < at + t.review_period)
			};
			let picked = if rng.chance(85) { pick_due(rng, in_review) } else { None };
			let (id, task, worker) = picked.or_else(|| pick_assignment(rng, is_submitted))?;
			let origin = RuntimeOrigin::signed(caller(rng, &reviewers(&task)));
			let reason = b"not good enough".to_vec();
			("reject_result", no_pay(Decentralml::reject_result(origin, id, worker, reason)))
		},
		18..=19 | 32 => {
			// Mostly a result whose review period has passed, by a worker who claims.
			let due = |a: &AssignmentOf<Test>, t: &TaskOf<Test>| matches!(a, Assignment::Submitted { at, .. } if now >= at + t.review_period);
			let picked = if rng.chance(85) {
				pick_due(rng, |a, t| due(a, t) && claims(t))
			} else {
				pick_assignment(rng, is_submitted)
			};
			let (id, _, worker) = picked?;
			let origin = RuntimeOrigin::signed(caller(rng, &[worker]));
			("claim_reward", no_pay(Decentralml::claim_reward(origin, id)))
		},
		20..=21 => {
			// Mostly an assignment whose work period has passed.
			let due = |a: &AssignmentOf<Test>, t: &TaskOf<Test>| matches!(a, Assignment::Assigned { at, .. } if now >= at + t.work_period);
			let picked = if rng.chance(85) { pick_due(rng, due) } else { None };
			let (id, _, worker) = picked.or_else(|| pick_assignment(rng, is_assigned))?;
			let anyone = RuntimeOrigin::signed(rng.pick(&ACCOUNTS).expect("non-empty"));
			("release_assignment", no_pay(Decentralml::release_assignment(anyone, id, worker)))
		},
		22 => {
			let (id, task) = rng.pick(&open_tasks()).filter(|_| rng.chance(50))?;
			let origin = RuntimeOrigin::signed(caller(rng, &[task.creator]));
			let result = Decentralml::cancel_task(origin, id).map(|_| ()).map_err(|e| e.error);
			("cancel_task", no_pay(result))
		},
		23..=25 => {
			// Mostly a task whose results are in.
			let open = open_tasks();
			let past: Vec<_> =
				open.iter().filter(|(_, t)| now >= results_end(t)).cloned().collect();
			let picked = if rng.chance(85) { rng.pick(&past) } else { None };
			let (id, _) = picked.or_else(|| rng.pick(&open))?;
			let anyone = RuntimeOrigin::signed(rng.pick(&ACCOUNTS).expect("non-empty"));
			let paid_before = task(id).paid;
			let result = Decentralml::close_task(anyone, id).map(|_| ()).map_err(|e| e.error);
			("close_task", (result, task(id).paid - paid_before))
		},
		26 => {
			// Mostly a task with results to pay, as a stuck task would have.
			let open = open_tasks();
			let with_results: Vec<_> =
				open.iter().filter(|(_, t)| t.pending > 0).cloned().collect();
			let picked = if rng.chance(70) { rng.pick(&with_results) } else { None };
			let (id, _) = picked.or_else(|| rng.pick(&open).filter(|_| rng.chance(10)))?;
			let origin = if rng.chance(WRONG) {
				RuntimeOrigin::signed(rng.pick(&ACCOUNTS).expect("non-empty"))
			} else {
				RuntimeOrigin::root()
			};
			let paid_before = task(id).paid;
			let result = Decentralml::force_close_task(origin, id).map(|_| ()).map_err(|e| e.error);
			("force_close_task", (result, task(id).paid - paid_before))
		},
		27 => {
			let all: Vec<_> = Tasks::<Test>::iter().collect();
			let (id, task) = rng.pick(&all)?;
			let origin = RuntimeOrigin::signed(caller(rng, &[task.creator]));
			let validator = if rng.chance(30) { None } else { rng.pick(&ACCOUNTS) };
			("set_validator", no_pay(Decentralml::set_validator(origin, id, validator)))
		},
		28 => {
			let all: Vec<_> = Tasks::<Test>::iter().collect();
			let (id, task) = rng.pick(&all)?;
			let origin = RuntimeOrigin::signed(caller(rng, &reviewers(&task)));
			*cids += 1;
			let model = content(&format!("m{cids}"));
			("publish_model", no_pay(Decentralml::publish_model(origin, id, model)))
		},
		34..=36 => {
			// Mostly a slot of a sealed task that still takes commitments.
			let picked = if rng.chance(85) {
				pick_due(rng, |a, t| is_assigned(a) && now < t.deadline && is_sealed(t))
			} else {
				pick_assignment(rng, is_assigned)
			};
			let (id, _, worker) = picked?;
			let worker = caller(rng, &[worker]);
			// Mostly a fresh result, sometimes one another worker also commits to.
			if !rng.chance(WRONG) {
				*cids += 1;
			}
			let tag = format!("r{cids}");
			let commitment = result_commitment(id, &worker, &content(&tag), &salt(worker, &tag));
			let origin = RuntimeOrigin::signed(worker);
			let result = Decentralml::commit_result(origin, id, commitment);
			if result.is_ok() {
				secrets.0.insert((id, worker), tag);
			}
			("commit_result", no_pay(result))
		},
		37..=41 => {
			// Mostly a commitment within its reveal period, revealed by its worker.
			let revealable = |a: &AssignmentOf<Test>, t: &TaskOf<Test>| {
				is_committed(a) && now >= t.deadline && now < results_end(t)
			};
			let (id, _, worker) = if rng.chance(85) {
				pick_due(rng, revealable)
			} else {
				pick_assignment(rng, is_committed)
			}?;
			let tag = secrets.0.get(&(id, worker)).cloned().unwrap_or_default();
			// Sometimes another worker tries to reveal this one's result, salt and all.
			let revealer = caller(rng, &[worker]);
			let origin = RuntimeOrigin::signed(revealer);
			let result = Decentralml::reveal_result(origin, id, content(&tag), salt(worker, &tag));
			if result.is_ok() {
				let t = task(id);
				assert_eq!(revealer, worker, "a worker revealed another's commitment");
				assert!(now >= t.deadline && now < results_end(&t), "revealed out of its period");
			}
			("reveal_result", no_pay(result))
		},
		42..=43 => {
			// Mostly an ended task past its retention period.
			let ended: Vec<_> = Tasks::<Test>::iter().filter(|(_, t)| !t.is_open()).collect();
			let due: Vec<_> = ended
				.iter()
				.filter(|(_, t)| t.ended_at.is_some_and(|e| now >= e + RETENTION_PERIOD))
				.cloned()
				.collect();
			let picked = if rng.chance(85) { rng.pick(&due) } else { None };
			let (id, _) =
				picked.or_else(|| rng.pick(&ended)).or_else(|| rng.pick(&open_tasks()))?;
			let anyone = RuntimeOrigin::signed(rng.pick(&ACCOUNTS).expect("non-empty"));
			let result = Decentralml::remove_task(anyone, id).map(|_| ()).map_err(|e| e.error);
			if result.is_ok() {
				assert_eq!(Assignments::<Test>::iter_prefix(id).count(), 0);
				assert_eq!(SubmittedCids::<Test>::iter_prefix(id).count(), 0);
				secrets.0.retain(|(task_id, _), _| *task_id != id);
			}
			("remove_task", no_pay(result))
		},
		33 => {
			// A creator locks its whole balance, as voting or vesting would: no payout or
			// refund out of its escrow may fail because of it.
			let all: Vec<_> = Tasks::<Test>::iter().map(|(_, t)| t.creator).collect();
			let creator = rng.pick(&all)?;
			<Balances as LockableCurrency<AccountId>>::set_lock(
				*b"randlock",
				&creator,
				Balance::MAX,
				WithdrawReasons::all(),
			);
			return None;
		},
		_ => {
			// Mostly to where something changes: a deadline, or the end of a review or work
			// period; sometimes a plain step.
			let milestones = milestones(now);
			// The next milestone more often than not, so short windows (a reveal period, a
			// review period) are stepped into rather than over.
			let target = if rng.chance(50) {
				milestones.iter().min().copied()
			} else {
				rng.pick(&milestones).filter(|_| rng.chance(75))
			};
			go_to_block(target.unwrap_or(now + 1 + rng.below(5)));
			return None;
		},
	};
	Some((call, result, paid))
}

/// How many bonds were forfeited by the events after the first `since`.
fn forfeits_since(since: usize) -> usize {
	System::events()
		.into_iter()
		.skip(since)
		.filter(|r| matches!(r.event, RuntimeEvent::Decentralml(Event::BondForfeited { .. })))
		.count()
}

fn total_issuance() -> Balance {
	Balances::total_issuance()
}

/// Rules about how results move over time, which no single state can show: watched across the
/// steps of one sequence.
#[derive(Default)]
struct Watch {
	/// Results seen awaiting review past their review period: the worker's now, never rejected.
	due: BTreeMap<(TaskId, AccountId), ()>,
	/// The validator each pending result was submitted under: it must stay until the decision.
	reviewed_by: BTreeMap<(TaskId, AccountId), Option<AccountId>>,
}

impl Watch {
	fn check(&mut self, now: u64) -> Result<(), String> {
		for (key, ()) in &self.due {
			if matches!(Assignments::<Test>::get(key.0, key.1), Some(Assignment::Rejected { .. })) {
				return Err(format!("{key:?} was rejected after its review period"));
			}
		}
		for (key, validator) in &self.reviewed_by {
			let still_pending = matches!(
				Assignments::<Test>::get(key.0, key.1),
				Some(Assignment::Submitted { .. })
			);
			if still_pending && task(key.0).validator != *validator {
				return Err(format!("{key:?}: the validator changed while the result was pending"));
			}
		}
		self.reviewed_by.retain(|key, _| {
			matches!(Assignments::<Test>::get(key.0, key.1), Some(Assignment::Submitted { .. }))
		});
		for (id, t) in open_tasks() {
			for (worker, assignment) in Assignments::<Test>::iter_prefix(id) {
				if let Assignment::Submitted { at, .. } = assignment {
					self.reviewed_by.entry((id, worker)).or_insert(t.validator);
					if now >= at + t.review_period {
						self.due.insert((id, worker), ());
					}
				}
			}
		}
		Ok(())
	}
}

#[test]
fn random_call_sequences_keep_the_invariants() {
	let mut counts = Counts::default();
	for seed in 1..=SEQUENCES {
		ExtBuilder::build_and_execute(|| {
			let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
			let mut cids = 0u64;
			let mut secrets = Secrets::default();
			let mut watch = Watch::default();
			if seed.is_multiple_of(10) {
				// Near the end of the id space: the last ids must not be handed out twice.
				NextTaskId::<Test>::put(TaskId::MAX - 3);
			}
			let issuance = total_issuance();
			for step in 0..STEPS {
				let events_before = System::events().len();
				let step_result = random_step(&mut rng, &mut cids, &mut secrets);
				if let Err(e) = watch.check(System::block_number()) {
					panic!("seed {seed}, step {step}: {e}");
				}
				let Some((call, result, paid)) = step_result else {
					continue;
				};
				// Holds ignore freezes, and so must every payout and refund out of a hold.
				assert_ne!(
					result,
					Err(DispatchError::Token(TokenError::Frozen)),
					"seed {seed}, step {step}: {call} blocked by a lock"
				);
				if call == "publish_model" && result.is_ok() {
					if let Some(ended_at) = last_published_task().ended_at {
						assert!(
							System::block_number() < ended_at + MODEL_PUBLISH_PERIOD,
							"seed {seed}, step {step}: model published after the publish period"
						);
					}
				}
				counts.record(call, result.is_ok());
				if call == "close_task" && result.is_ok() && forfeits_since(events_before) > 0 {
					counts.record("close_task (forfeited an unrevealed bond)", true);
				}
				if result.is_ok() && paid > 0 {
					counts.record(
						if call == "close_task" {
							"close_task (paid a result)"
						} else {
							"force_close_task (paid a result)"
						},
						true,
					);
				}
				if let Err(e) = check_invariants() {
					panic!("seed {seed}, step {step}, after {call} ({result:?}): {e:?}");
				}
				// Escrow only moves funds between accounts: nothing is minted or burned.
				assert_eq!(total_issuance(), issuance, "seed {seed}, step {step}, {call}");
			}
		});
	}
	counts.print();
	for (call, minimum) in [
		("create_task", 5_000),
		("assign_task", 5_000),
		// Fewer than half the tasks take plain results.
		("submit_result", 1_200),
		("accept_result", 200),
		("reject_result", 200),
		("claim_reward", 200),
		("release_assignment", 200),
		("close_task (forfeited an unrevealed bond)", 200),
		("commit_result", 1_000),
		("reveal_result", 300),
		("remove_task", 200),
		("cancel_task", 200),
		("close_task", 1_000),
		("close_task (paid a result)", 100),
		("force_close_task", 200),
		("force_close_task (paid a result)", 200),
		("set_validator", 200),
		("publish_model", 200),
	] {
		let ok = counts.successes(call);
		assert!(ok >= minimum, "{call}: {ok} successes, fewer than {minimum}");
	}
}

#[test]
fn random_sequences_end_with_every_unit_returned() {
	// Drive random tasks to their end and remove them, then check nothing stays held and every
	// account's balance moved only by rewards and forfeited bonds paid or received.
	for seed in 1..=200u64 {
		ExtBuilder::build_and_execute(|| {
			let mut rng = Rng(seed.wrapping_mul(0xD134_2543_DE82_EF95) | 1);
			let mut cids = 0u64;
			let mut secrets = Secrets::default();
			for _ in 0..STEPS {
				let _ = random_step(&mut rng, &mut cids, &mut secrets);
			}
			// Claim everything claimable, then close every task.
			go_to_block(System::block_number() + 200);
			for (task_id, _) in open_tasks() {
				for worker in LiveWorkers::<Test>::get(task_id).to_vec() {
					let _ = Decentralml::claim_reward(RuntimeOrigin::signed(worker), task_id);
				}
				assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), task_id));
			}
			for (_, t) in Tasks::<Test>::iter() {
				assert_eq!(t.escrow, 0);
			}
			// Then remove every record after its retention period.
			go_to_block(System::block_number() + RETENTION_PERIOD);
			for task_id in Tasks::<Test>::iter_keys().collect::<Vec<_>>() {
				assert_ok!(Decentralml::remove_task(RuntimeOrigin::signed(EVE), task_id));
			}
			assert_eq!(Tasks::<Test>::iter().count(), 0);
			// What moved between accounts, from the events: rewards from creators to workers,
			// forfeited bonds from workers to creators.
			let mut creators = BTreeMap::new();
			let mut paid_out: BTreeMap<AccountId, i128> = Default::default();
			for record in System::events() {
				let RuntimeEvent::Decentralml(event) = record.event else { continue };
				match event {
					Event::TaskCreated { task_id, creator, .. } => {
						creators.insert(task_id, creator);
					},
					Event::RewardPaid { task_id, worker, amount } => {
						*paid_out.entry(worker).or_default() += amount as i128;
						*paid_out.entry(creators[&task_id]).or_default() -= amount as i128;
					},
					Event::BondForfeited { task_id, worker, amount } => {
						*paid_out.entry(worker).or_default() -= amount as i128;
						*paid_out.entry(creators[&task_id]).or_default() += amount as i128;
					},
					_ => {},
				}
			}
			for who in ACCOUNTS {
				let holds = (held(who), held_storage(who), held_bond(who));
				assert_eq!(holds, (0, 0, 0), "seed {seed}: {who} still has funds held");
				let start = if who == POOR { 0 } else { ENDOWMENT as i128 };
				let expected = start + paid_out.get(&who).copied().unwrap_or_default();
				assert_eq!(free(who) as i128, expected, "seed {seed}: balance of {who}");
			}
		});
	}
}
