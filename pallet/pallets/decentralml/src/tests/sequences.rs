//! Random call sequences with the invariants checked after every step.

use super::{mock::*, utils::*};
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::{pallet_balances, polkadot_sdk_frame as frame};

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
	fn pick<T: Copy>(&mut self, items: &[T]) -> T {
		items[self.below(items.len() as u64) as usize]
	}
}

const ACCOUNTS: [AccountId; 7] = [ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE, POOR];
const SEQUENCES: u64 = 1_000;
const STEPS: u64 = 40;

fn total_issuance() -> Balance {
	pallet_balances::Pallet::<Test>::total_issuance()
}

/// Run one random call; returns the call's name for failure messages.
fn random_step(rng: &mut Rng, cids: &mut u64) -> (&'static str, DispatchResult) {
	let who = rng.pick(&ACCOUNTS);
	let task_count = NextTaskId::<Test>::get().max(1) as u64;
	// Sometimes aim past the existing ids, to exercise `UnknownTask`.
	let task_id = rng.below(task_count + 1) as TaskId;
	let other = rng.pick(&ACCOUNTS);
	let origin = RuntimeOrigin::signed(who);
	match rng.below(13) {
		0 | 1 => {
			let now = System::block_number();
			let spec = NewTask {
				policy: rng.pick(&[
					ValidationPolicy::AutoAccept,
					ValidationPolicy::ManualAccept,
					ValidationPolicy::CustomAccept,
				]),
				reward: rng.pick(&[0, EXISTENTIAL_DEPOSIT, 100, 5_000, 400_000]),
				slots: rng.below(MAX_SLOTS as u64 + 2) as u32,
				deadline: now + rng.below(30),
				review_period: rng.below(12),
				work_period: rng.below(12),
				validator: if rng.below(3) == 0 { Some(other) } else { None },
				..Default::default()
			};
			("create_task", spec.create(who))
		},
		2 | 3 => ("assign_task", Decentralml::assign_task(origin, task_id)),
		4 | 5 => {
			// Mostly fresh CIDs, sometimes a repeat.
			if rng.below(4) != 0 {
				*cids += 1;
			}
			let result = content(&format!("r{cids}"));
			("submit_result", Decentralml::submit_result(origin, task_id, result))
		},
		6 => ("accept_result", Decentralml::accept_result(origin, task_id, other)),
		7 => ("reject_result", Decentralml::reject_result(origin, task_id, other, b"no".to_vec())),
		8 => ("claim_reward", Decentralml::claim_reward(origin, task_id)),
		9 => ("release_assignment", Decentralml::release_assignment(origin, task_id, other)),
		10 => (
			"cancel_task",
			Decentralml::cancel_task(origin, task_id).map(|_| ()).map_err(|e| e.error),
		),
		11 => (
			"close_task",
			Decentralml::close_task(origin, task_id).map(|_| ()).map_err(|e| e.error),
		),
		_ => {
			let jump = rng.pick(&[1, 1, 2, 5, 11, 30]);
			go_to_block(System::block_number() + jump);
			("advance", Ok(()))
		},
	}
}

#[test]
fn random_call_sequences_keep_the_invariants() {
	let mut ok_calls = 0u64;
	let mut failed_calls = 0u64;
	for seed in 1..=SEQUENCES {
		ExtBuilder::build_and_execute(|| {
			let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
			let mut cids = 0u64;
			let issuance = total_issuance();
			for step in 0..STEPS {
				let (call, result) = random_step(&mut rng, &mut cids);
				if result.is_ok() {
					ok_calls += 1;
				} else {
					failed_calls += 1;
				}
				if let Err(e) = Decentralml::do_try_state() {
					panic!("seed {seed}, step {step}, after {call} ({result:?}): {e:?}");
				}
				// Escrow only moves funds between accounts: nothing is minted or burned.
				assert_eq!(total_issuance(), issuance, "seed {seed}, step {step}, {call}");
			}
		});
	}
	// The generator must reach both outcomes often, or the test proves little.
	assert!(ok_calls > SEQUENCES * 5, "only {ok_calls} calls succeeded");
	assert!(failed_calls > SEQUENCES * 5, "only {failed_calls} calls failed");
}

#[test]
fn random_sequences_end_with_every_unit_returned() {
	// Drive random tasks to their end, then check nothing stays held and every account's
	// balance moved only by rewards paid or received.
	for seed in 1..=200u64 {
		ExtBuilder::build_and_execute(|| {
			let mut rng = Rng(seed.wrapping_mul(0xD134_2543_DE82_EF95) | 1);
			let mut cids = 0u64;
			for _ in 0..STEPS {
				let _ = random_step(&mut rng, &mut cids);
			}
			// Decide or claim everything, then close every task.
			go_to_block(System::block_number() + 200);
			for task_id in 0..NextTaskId::<Test>::get() {
				let t = task(task_id);
				if t.status != TaskStatus::Open {
					continue;
				}
				for worker in LiveWorkers::<Test>::get(task_id).to_vec() {
					let _ = Decentralml::claim_reward(RuntimeOrigin::signed(worker), task_id);
				}
				assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), task_id));
			}
			let mut paid_out: std::collections::BTreeMap<AccountId, i128> = Default::default();
			for task_id in 0..NextTaskId::<Test>::get() {
				let t = task(task_id);
				assert_eq!(t.escrow, 0);
				for (worker, a) in Assignments::<Test>::iter_prefix(task_id) {
					if a == Assignment::Paid {
						*paid_out.entry(worker).or_default() += t.reward as i128;
						*paid_out.entry(t.creator).or_default() -= t.reward as i128;
					}
				}
			}
			for who in ACCOUNTS {
				assert_eq!(held(who), 0, "seed {seed}: {who} still has funds held");
				let start = if who == POOR { 0 } else { ENDOWMENT as i128 };
				let expected = start + paid_out.get(&who).copied().unwrap_or_default();
				assert_eq!(free(who) as i128, expected, "seed {seed}: balance of {who}");
			}
		});
	}
}
