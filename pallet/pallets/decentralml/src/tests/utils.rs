//! Helpers shared by the tests.

use super::mock::*;
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::{pallet_balances, polkadot_sdk_frame as frame};

pub const REWARD: Balance = 100;
pub const DEADLINE: u64 = 50;
pub const REVIEW: u64 = 10;
pub const WORK: u64 = 5;
pub const REVEAL: u64 = 10;
/// The storage deposit of a task with the default metadata (`{}`).
pub const DEPOSIT: Balance = DEPOSIT_BASE + 2 * DEPOSIT_PER_BYTE;

pub fn content(tag: &str) -> RawContentRef {
	let mut sha256 = [0u8; 32];
	for (i, b) in tag.bytes().enumerate() {
		sha256[i % 32] ^= b;
	}
	RawContentRef { cid: format!("bafy{tag}").into_bytes(), sha256, size: 1_000 }
}

pub fn bounded(tag: &str) -> ContentRefOf<Test> {
	let raw = content(tag);
	ContentRef { cid: raw.cid.try_into().unwrap(), sha256: raw.sha256, size: raw.size }
}

/// Parameters of `create_task`, with defaults the tests change one at a time.
#[derive(Clone)]
pub struct NewTask {
	pub kind: TaskKind,
	pub policy: ValidationPolicy,
	pub submission: SubmissionOf<Test>,
	pub bundle: RawContentRef,
	pub metadata: Vec<u8>,
	pub reward: Balance,
	pub slots: u32,
	pub deadline: u64,
	pub review_period: u64,
	pub work_period: u64,
	pub validator: Option<AccountId>,
}

impl Default for NewTask {
	fn default() -> Self {
		Self {
			kind: TaskKind::ModelContribution,
			policy: ValidationPolicy::ManualAccept,
			submission: Submission::Plain,
			bundle: content("task"),
			metadata: b"{}".to_vec(),
			reward: REWARD,
			slots: 2,
			deadline: DEADLINE,
			review_period: REVIEW,
			work_period: WORK,
			validator: None,
		}
	}
}

impl NewTask {
	pub fn create(self, creator: AccountId) -> DispatchResult {
		Decentralml::create_task(
			RuntimeOrigin::signed(creator),
			self.kind,
			self.policy,
			self.submission,
			self.bundle,
			self.metadata,
			self.reward,
			self.slots,
			self.deadline,
			self.review_period,
			self.work_period,
			self.validator,
		)
	}

	/// The rewards this task holds in escrow when created.
	pub fn escrow(&self) -> Balance {
		self.reward * self.slots as Balance
	}

	/// The storage deposit this task holds until its record is removed.
	pub fn deposit(&self) -> Balance {
		Decentralml::task_deposit(self.metadata.len())
	}

	/// Everything this task holds from its creator when created.
	pub fn held(&self) -> Balance {
		self.escrow() + self.deposit()
	}

	/// A sealed AutoAccept task with reveal period `REVEAL`.
	pub fn sealed_auto() -> Self {
		Self {
			policy: ValidationPolicy::AutoAccept,
			submission: Submission::Sealed { reveal_period: REVEAL },
			..Default::default()
		}
	}
}

/// Create the default task as ALICE and return its id.
pub fn create_default() -> TaskId {
	create_with(NewTask::default())
}

pub fn create_with(task: NewTask) -> TaskId {
	let id = NextTaskId::<Test>::get();
	assert_ok!(task.create(ALICE));
	id
}

pub fn assign(task_id: TaskId, worker: AccountId) {
	assert_ok!(Decentralml::assign_task(RuntimeOrigin::signed(worker), task_id));
}

pub fn submit(task_id: TaskId, worker: AccountId, tag: &str) {
	assert_ok!(Decentralml::submit_result(RuntimeOrigin::signed(worker), task_id, content(tag)));
}

pub fn free(who: AccountId) -> Balance {
	pallet_balances::Pallet::<Test>::free_balance(who)
}

/// What is held from `who` as task escrow.
pub fn held(who: AccountId) -> Balance {
	Decentralml::held_by(&who)
}

/// What is held from `who` as storage deposits.
pub fn held_storage(who: AccountId) -> Balance {
	Decentralml::held_for(HoldReason::TaskStorage, &who)
}

/// What is held from `who` as assignment bonds.
pub fn held_bond(who: AccountId) -> Balance {
	Decentralml::held_for(HoldReason::AssignmentBond, &who)
}

/// A salt distinct per worker and tag.
pub fn salt(worker: AccountId, tag: &str) -> [u8; 32] {
	let mut salt = [0u8; 32];
	salt[..8].copy_from_slice(&worker.to_le_bytes());
	for (i, b) in tag.bytes().enumerate() {
		salt[8 + i % 24] ^= b;
	}
	salt
}

/// Commit `worker` to the result `tag` on `task_id`.
pub fn commit(task_id: TaskId, worker: AccountId, tag: &str) {
	let commitment = result_commitment(task_id, &worker, &content(tag), &salt(worker, tag));
	assert_ok!(Decentralml::commit_result(RuntimeOrigin::signed(worker), task_id, commitment));
}

/// Reveal `worker`'s result `tag` on `task_id`.
pub fn reveal(task_id: TaskId, worker: AccountId, tag: &str) -> DispatchResult {
	Decentralml::reveal_result(
		RuntimeOrigin::signed(worker),
		task_id,
		content(tag),
		salt(worker, tag),
	)
}

pub fn task(task_id: TaskId) -> TaskOf<Test> {
	Tasks::<Test>::get(task_id).expect("task exists")
}

pub fn go_to_block(n: u64) {
	System::set_block_number(n);
}

/// The pallet's events since the last call, oldest first.
pub fn events() -> Vec<Event<Test>> {
	let events = System::events()
		.into_iter()
		.filter_map(|r| if let RuntimeEvent::Decentralml(e) = r.event { Some(e) } else { None })
		.collect();
	System::reset_events();
	events
}
