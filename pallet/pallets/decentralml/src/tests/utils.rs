//! Helpers shared by the tests.

use super::mock::*;
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::{pallet_balances, polkadot_sdk_frame as frame};

pub const REWARD: Balance = 100;
pub const DEADLINE: u64 = 50;
pub const REVIEW: u64 = 10;
pub const WORK: u64 = 5;

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

	/// The escrow this task holds when created.
	pub fn escrow(&self) -> Balance {
		self.reward * self.slots as Balance + Decentralml::task_deposit(self.metadata.len())
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

pub fn held(who: AccountId) -> Balance {
	Decentralml::held_by(&who)
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
