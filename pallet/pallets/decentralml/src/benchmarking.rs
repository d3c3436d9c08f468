//! Benchmarks of `pallet-decentralml` (frame-benchmarking v2), each at its worst case.

use super::*;
use alloc::{vec, vec::Vec};
use frame::{benchmarking::prelude::*, traits::fungible::Mutate};

const SEED: u32 = 0;
const REVIEW_PERIOD: u32 = 10;
const DEADLINE: u32 = 1_000;
const REVEAL_PERIOD: u32 = 10;

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, SEED);
	let plenty = T::MinimumReward::get()
		.saturating_mul(T::MaxSlots::get().into())
		.saturating_mul(1_000u32.into())
		.saturating_add(Pallet::<T>::task_deposit(T::MaxMetadataLen::get() as usize))
		.saturating_mul(4u32.into());
	T::Currency::set_balance(&who, plenty);
	who
}

/// A content reference with a CID of the maximal length, distinct per `tag`.
fn max_content<T: Config>(tag: u32) -> RawContentRef {
	let mut cid = vec![b'a'; T::MaxCidLen::get().max(4) as usize];
	cid[..4].copy_from_slice(&tag.to_le_bytes());
	RawContentRef { cid, sha256: [7; 32], size: u64::MAX }
}

/// Create a task with every bound at its maximum and `slots` slots; returns its creator and id.
/// AutoAccept tasks are sealed, the others plain.
fn create<T: Config>(policy: ValidationPolicy, slots: u32) -> (T::AccountId, TaskId) {
	let submission = if policy == ValidationPolicy::AutoAccept {
		Submission::Sealed { reveal_period: REVEAL_PERIOD.into() }
	} else {
		Submission::Plain
	};
	create_with::<T>(policy, submission, slots)
}

fn create_with<T: Config>(
	policy: ValidationPolicy,
	submission: SubmissionOf<T>,
	slots: u32,
) -> (T::AccountId, TaskId) {
	let creator = funded::<T>("creator", 0);
	let now = frame_system::Pallet::<T>::block_number();
	let spec = TaskSpec::<T> {
		kind: TaskKind::ModelContribution,
		policy,
		submission,
		bundle: max_content::<T>(u32::MAX),
		metadata: vec![0; T::MaxMetadataLen::get() as usize],
		reward: T::MinimumReward::get(),
		slots,
		deadline: now + DEADLINE.into(),
		// Long enough that a result submitted during setup is still within it at the call.
		review_period: REVIEW_PERIOD.into(),
		work_period: 1u32.into(),
		validator: Some(account("validator", 0, SEED)),
	};
	let task_id = Pallet::<T>::do_create_task(creator.clone(), spec).expect("funded; qed.");
	(creator, task_id)
}

/// Fill `count` slots of `task_id` with assigned workers; returns them.
fn assign_workers<T: Config>(task_id: TaskId, count: u32) -> Vec<T::AccountId> {
	(0..count)
		.map(|i| {
			let worker = funded::<T>("worker", i);
			Pallet::<T>::do_assign_task(worker.clone(), task_id).expect("free slot; qed.");
			worker
		})
		.collect()
}

fn submit_all<T: Config>(task_id: TaskId, workers: &[T::AccountId]) {
	for (i, worker) in workers.iter().enumerate() {
		Pallet::<T>::do_submit_result(worker.clone(), task_id, max_content::<T>(i as u32))
			.expect("assigned; qed.");
	}
}

/// A ManualAccept task with every slot taken and submitted; returns its creator, its id and
/// the last worker (the one furthest down the live list).
fn all_submitted<T: Config>() -> (T::AccountId, TaskId, T::AccountId) {
	let slots = T::MaxSlots::get();
	let (creator, task_id) = create::<T>(ValidationPolicy::ManualAccept, slots);
	let workers = assign_workers::<T>(task_id, slots);
	submit_all::<T>(task_id, &workers);
	let last = workers[slots as usize - 1].clone();
	(creator, task_id, last)
}

/// The salt a benchmark worker commits with.
const SALT: [u8; 32] = [3; 32];

/// Commit every worker of a sealed task to the result `max_content(i)`.
fn commit_all<T: Config>(task_id: TaskId, workers: &[T::AccountId]) {
	for (i, worker) in workers.iter().enumerate() {
		let commitment = result_commitment(task_id, worker, &max_content::<T>(i as u32), &SALT);
		Pallet::<T>::do_commit_result(worker.clone(), task_id, commitment).expect("assigned; qed.");
	}
}

fn advance<T: Config>(blocks: u32) {
	let now = frame_system::Pallet::<T>::block_number();
	frame_system::Pallet::<T>::set_block_number(now + blocks.into());
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_task(m: Linear<0, { T::MaxMetadataLen::get() }>) {
		let creator = funded::<T>("creator", 0);
		let deadline = frame_system::Pallet::<T>::block_number() + 1_000u32.into();
		let reward = T::MinimumReward::get();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(creator.clone()),
			TaskKind::ModelContribution,
			ValidationPolicy::AutoAccept,
			Submission::Sealed { reveal_period: T::MaxRevealPeriod::get() },
			max_content::<T>(0),
			vec![0; m as usize],
			reward,
			T::MaxSlots::get(),
			deadline,
			T::MaxReviewPeriod::get(),
			T::MaxWorkPeriod::get(),
			Some(account("validator", 0, SEED)),
		);

		assert_eq!(Tasks::<T>::get(0).expect("created").creator, creator);
		assert!(!Pallet::<T>::held_by(&creator).is_zero());
	}

	#[benchmark]
	fn set_validator() {
		let (creator, task_id) = create::<T>(ValidationPolicy::ManualAccept, 1);
		let validator: T::AccountId = account("validator", 1, SEED);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), task_id, Some(validator.clone()));

		assert_eq!(Tasks::<T>::get(task_id).expect("exists").validator, Some(validator));
	}

	#[benchmark]
	fn assign_task() {
		let slots = T::MaxSlots::get();
		let (_, task_id) = create::<T>(ValidationPolicy::ManualAccept, slots);
		assign_workers::<T>(task_id, slots - 1);
		let worker = funded::<T>("last", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), task_id);

		assert_eq!(LiveWorkers::<T>::get(task_id).len() as u32, slots);
	}

	#[benchmark]
	fn submit_result() {
		// Worst case: a plain AutoAccept task (only from before sealed submissions) pays at once,
		// with a full live list to search, and returns the bond.
		let slots = T::MaxSlots::get();
		let (_, task_id) = create::<T>(ValidationPolicy::AutoAccept, slots);
		Tasks::<T>::mutate(task_id, |t| {
			t.as_mut().expect("created; qed.").submission = Submission::Plain
		});
		let workers = assign_workers::<T>(task_id, slots);
		let worker = workers[slots as usize - 1].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), task_id, max_content::<T>(9_999));

		assert!(matches!(
			Assignments::<T>::get(task_id, &worker),
			Some(Assignment::Paid { result: Some(_) })
		));
	}

	#[benchmark]
	fn commit_result() {
		let slots = T::MaxSlots::get();
		let (_, task_id) = create::<T>(ValidationPolicy::AutoAccept, slots);
		let workers = assign_workers::<T>(task_id, slots);
		let worker = workers[slots as usize - 1].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), task_id, [9; 32]);

		assert!(matches!(
			Assignments::<T>::get(task_id, &worker),
			Some(Assignment::Committed { .. })
		));
	}

	#[benchmark]
	fn reveal_result() {
		// Worst case: AutoAccept pays at the reveal, with a full live list to search.
		let slots = T::MaxSlots::get();
		let (_, task_id) = create::<T>(ValidationPolicy::AutoAccept, slots);
		let workers = assign_workers::<T>(task_id, slots);
		commit_all::<T>(task_id, &workers);
		advance::<T>(DEADLINE);
		let last = slots - 1;
		let worker = workers[last as usize].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), task_id, max_content::<T>(last), SALT);

		assert!(matches!(
			Assignments::<T>::get(task_id, &worker),
			Some(Assignment::Paid { result: Some(_) })
		));
	}

	#[benchmark]
	fn remove_task(a: Linear<0, { T::MaxAssignmentsPerTask::get() }>) {
		// `a` rejected results, each with an assignment and a submitted CID to delete.
		let (creator, task_id) = create::<T>(ValidationPolicy::ManualAccept, 1);
		for i in 0..a {
			let worker = funded::<T>("worker", i);
			Pallet::<T>::do_assign_task(worker.clone(), task_id).expect("free slot; qed.");
			Pallet::<T>::do_submit_result(worker.clone(), task_id, max_content::<T>(i))
				.expect("assigned; qed.");
			Pallet::<T>::do_reject_result(creator.clone(), task_id, worker, Vec::new())
				.expect("pending; qed.");
		}
		Pallet::<T>::do_cancel_task(creator.clone(), task_id).expect("nothing pending; qed.");
		let now = frame_system::Pallet::<T>::block_number();
		frame_system::Pallet::<T>::set_block_number(now + T::RetentionPeriod::get());
		let caller = funded::<T>("caller", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), task_id);

		assert!(Tasks::<T>::get(task_id).is_none());
		assert!(Pallet::<T>::held_for(HoldReason::TaskStorage, &creator).is_zero());
	}

	#[benchmark]
	fn accept_result() {
		let (creator, task_id, worker) = all_submitted::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), task_id, worker.clone());

		assert!(matches!(
			Assignments::<T>::get(task_id, &worker),
			Some(Assignment::Paid { result: Some(_) })
		));
	}

	#[benchmark]
	fn reject_result(r: Linear<0, { T::MaxReasonLen::get() }>) {
		let (creator, task_id, worker) = all_submitted::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), task_id, worker.clone(), vec![b'x'; r as usize]);

		assert!(matches!(
			Assignments::<T>::get(task_id, &worker),
			Some(Assignment::Rejected { result: Some(_) })
		));
	}

	#[benchmark]
	fn claim_reward() {
		let (_, task_id, worker) = all_submitted::<T>();
		advance::<T>(REVIEW_PERIOD);

		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()), task_id);

		assert!(matches!(
			Assignments::<T>::get(task_id, &worker),
			Some(Assignment::Paid { result: Some(_) })
		));
	}

	#[benchmark]
	fn release_assignment() {
		let slots = T::MaxSlots::get();
		let (_, task_id) = create::<T>(ValidationPolicy::ManualAccept, slots);
		let workers = assign_workers::<T>(task_id, slots);
		advance::<T>(1);
		let worker = workers[slots as usize - 1].clone();
		let caller = funded::<T>("caller", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), task_id, worker.clone());

		assert_eq!(Assignments::<T>::get(task_id, &worker), Some(Assignment::Released));
	}

	#[benchmark]
	fn cancel_task(s: Linear<0, { T::MaxSlots::get() }>) {
		let (creator, task_id) = create::<T>(ValidationPolicy::ManualAccept, T::MaxSlots::get());
		assign_workers::<T>(task_id, s);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator.clone()), task_id);

		assert!(Pallet::<T>::held_by(&creator).is_zero());
	}

	#[benchmark]
	fn close_task(s: Linear<0, { T::MaxSlots::get() }>) {
		// Worst case: every live assignment is a result past its review period, paid at close.
		let (creator, task_id) = create::<T>(ValidationPolicy::ManualAccept, T::MaxSlots::get());
		let workers = assign_workers::<T>(task_id, s);
		submit_all::<T>(task_id, &workers);
		advance::<T>(1_000);
		let caller = funded::<T>("caller", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), task_id);

		assert!(Pallet::<T>::held_by(&creator).is_zero());
		assert_eq!(Tasks::<T>::get(task_id).expect("exists").paid, s);
	}

	#[benchmark]
	fn force_close_task(s: Linear<0, { T::MaxSlots::get() }>) -> Result<(), BenchmarkError> {
		// Worst case: every live assignment is a submitted result, all paid at once.
		let (creator, task_id) = create::<T>(ValidationPolicy::ManualAccept, T::MaxSlots::get());
		let workers = assign_workers::<T>(task_id, s);
		submit_all::<T>(task_id, &workers);
		let origin =
			T::ForceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, task_id);

		assert!(Pallet::<T>::held_by(&creator).is_zero());
		assert_eq!(Tasks::<T>::get(task_id).expect("exists").paid, s);
		Ok(())
	}

	#[benchmark]
	fn publish_model() {
		let (creator, task_id) = create::<T>(ValidationPolicy::ManualAccept, 1);

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), task_id, max_content::<T>(1));

		assert!(Tasks::<T>::get(task_id).expect("exists").model.is_some());
	}

	impl_benchmark_test_suite!(
		Pallet,
		crate::tests::mock::new_test_ext(),
		crate::tests::mock::Test
	);
}
