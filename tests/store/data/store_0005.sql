BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0005');
CREATE TABLE audit_log (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	action VARCHAR(100) NOT NULL, 
	target VARCHAR(300) NOT NULL, 
	details JSON NOT NULL, 
	ledger_seq INTEGER, 
	CONSTRAINT pk_audit_log PRIMARY KEY (id), 
	CONSTRAINT fk_audit_log_ledger_seq_ledger_entries FOREIGN KEY(ledger_seq) REFERENCES ledger_entries (seq)
);
INSERT INTO "audit_log" VALUES(1,'2025-03-01 12:00:00.005000','system','contact_created','contact:1','{"platform": "xmpp", "kind": "platform_id", "value_sha256": "405010d6c16c16dec36f3d7a7596c2d757ba7b57904adc4801a63e40914fd5c9"}',2);
INSERT INTO "audit_log" VALUES(2,'2025-03-01 12:00:00.023000','system','case_opened','case:1','{"contact_id": 1}',14);
CREATE TABLE case_events (
	id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	action VARCHAR(30) NOT NULL, 
	note TEXT NOT NULL, 
	details JSON NOT NULL, 
	CONSTRAINT pk_case_events PRIMARY KEY (id), 
	CONSTRAINT ck_case_events_ck_case_events_action CHECK (action IN ('dismiss', 'watch', 'propose_referral', 'approve_referral', 'reject_referral', 'reveal', 'purge', 'reopen')), 
	CONSTRAINT fk_case_events_case_id_cases FOREIGN KEY(case_id) REFERENCES cases (id)
);
CREATE TABLE cases (
	id INTEGER NOT NULL, 
	contact_id INTEGER NOT NULL, 
	status VARCHAR(30) NOT NULL, 
	risk FLOAT NOT NULL, 
	opened_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_cases PRIMARY KEY (id), 
	CONSTRAINT fk_cases_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id), 
	CONSTRAINT uq_cases_contact_id UNIQUE (contact_id)
);
INSERT INTO "cases" VALUES(1,1,'open',0.0,'2025-03-01 12:00:00.021000','2025-03-01 12:00:00.021000');
CREATE TABLE checkpoints (
	id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	entry_hash VARCHAR(64) NOT NULL, 
	signature VARCHAR(128) NOT NULL, 
	key_fingerprint VARCHAR(64) NOT NULL, 
	at VARCHAR(40) NOT NULL, 
	CONSTRAINT pk_checkpoints PRIMARY KEY (id), 
	CONSTRAINT fk_checkpoints_seq_ledger_entries FOREIGN KEY(seq) REFERENCES ledger_entries (seq)
);
INSERT INTO "checkpoints" VALUES(1,3,'9589fa0377312f49b08a3a2301e3850b86d94fce58528a024a6e8c8446705726','b162712de899f9410609c7588332d803ee333aaa584af7b16c9baa7e68b1aef31edaa84051d74ee46009f9342e3311863bcaaf5390c555a782f18bcd0efa3a0b','9f7eea80bf9f7cb67380d8c87868e1704953b87121098acbe4d347b669257970','2025-03-01T12:00:00.006000Z');
INSERT INTO "checkpoints" VALUES(2,6,'14f7fa3337e8fba6b96973af2530bb29c9b799d9b760975f536d75e5ea882b81','389638b03d747386e2482b1c651e6c453e3fb4c43a9c9a65bb1d81620a33d60d74d449c52ae91e1b8d1fa8b4a6e84bf201bbaa9104602299ef379e6eb795bf0c','9f7eea80bf9f7cb67380d8c87868e1704953b87121098acbe4d347b669257970','2025-03-01T12:00:00.010000Z');
INSERT INTO "checkpoints" VALUES(3,9,'dee7074047e334987529ba44c6568b4bae8e2667038c6b5f15590f85fcc281ee','ca563d0647dddda2cb8af5c24f9493908fb31bf203a669e9282a941370675d103889cfe79830e3e26d1e19d86c344b615212a0c40e7894d695be1848cd042f05','9f7eea80bf9f7cb67380d8c87868e1704953b87121098acbe4d347b669257970','2025-03-01T12:00:00.014000Z');
INSERT INTO "checkpoints" VALUES(4,12,'b6561294c58074ebf3d4f388939e269f6bc6869c95061d433276b6978ee1ceed','763a7ec7b7a1009d759f4d90e4e8ae17eb497c3f4727a46402b82d13947102d8df6234b7d51b42e1be8fbf4023e526afbd82586b7f09f3c717567f474e97aa03','9f7eea80bf9f7cb67380d8c87868e1704953b87121098acbe4d347b669257970','2025-03-01T12:00:00.018000Z');
INSERT INTO "checkpoints" VALUES(5,14,'e588857705fcadc5251b5734bab43d7d9ecc2b22974c02e5e48976619ab13b50','a7d7148170871284d98776708aef4798f69e51dd49619dfdf0ce1aa42b48437e16550319ece6199a60c4a69e3f235b42bc7055cb5cd084ac934f2d589eefae03','9f7eea80bf9f7cb67380d8c87868e1704953b87121098acbe4d347b669257970','2025-03-01T12:00:00.024000Z');
CREATE TABLE contacts (
	id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	first_seen DATETIME NOT NULL, 
	last_seen DATETIME NOT NULL, 
	merged_into INTEGER, 
	CONSTRAINT pk_contacts PRIMARY KEY (id), 
	CONSTRAINT fk_contacts_merged_into_contacts FOREIGN KEY(merged_into) REFERENCES contacts (id)
);
INSERT INTO "contacts" VALUES(1,'2025-03-01 12:00:00.003000','2025-03-01 12:00:00.002000','2025-03-01 12:03:00.000000',NULL);
CREATE TABLE conversations (
	id INTEGER NOT NULL, 
	operation_id INTEGER NOT NULL, 
	persona_id VARCHAR(100) NOT NULL, 
	platform VARCHAR(100) NOT NULL, 
	account VARCHAR(300) NOT NULL, 
	contact_id INTEGER NOT NULL, 
	room VARCHAR(300), 
	lang VARCHAR(16) NOT NULL, 
	started_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	state JSON NOT NULL, 
	CONSTRAINT pk_conversations PRIMARY KEY (id), 
	CONSTRAINT fk_conversations_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id), 
	CONSTRAINT fk_conversations_operation_id_operations FOREIGN KEY(operation_id) REFERENCES operations (id)
);
INSERT INTO "conversations" VALUES(1,1,'p-old','xmpp','mia@localhost',1,NULL,'en','2025-03-01 12:00:00.000000',NULL,'{}');
CREATE TABLE decisions (
	id INTEGER NOT NULL, 
	conversation_id INTEGER NOT NULL, 
	message_id INTEGER NOT NULL, 
	after_line INTEGER NOT NULL, 
	action VARCHAR(20) NOT NULL, 
	risk FLOAT NOT NULL, 
	indicators JSON NOT NULL, 
	rule VARCHAR(200) NOT NULL, 
	reason TEXT NOT NULL, 
	variant VARCHAR(100), 
	created_at DATETIME NOT NULL, 
	ledger_seq INTEGER NOT NULL, 
	CONSTRAINT pk_decisions PRIMARY KEY (id), 
	CONSTRAINT fk_decisions_conversation_id_conversations FOREIGN KEY(conversation_id) REFERENCES conversations (id), 
	CONSTRAINT fk_decisions_ledger_seq_ledger_entries FOREIGN KEY(ledger_seq) REFERENCES ledger_entries (seq), 
	CONSTRAINT fk_decisions_message_id_messages FOREIGN KEY(message_id) REFERENCES messages (id)
);
INSERT INTO "decisions" VALUES(1,1,1,1,'continue',0.1,'[]','none','synthetic',NULL,'2025-03-01 12:00:00.008000',5);
INSERT INTO "decisions" VALUES(2,1,3,2,'continue',0.1,'[]','none','synthetic',NULL,'2025-03-01 12:00:00.012000',8);
INSERT INTO "decisions" VALUES(3,1,5,3,'continue',0.1,'[]','none','synthetic',NULL,'2025-03-01 12:00:00.016000',11);
CREATE TABLE identities (
	id INTEGER NOT NULL, 
	contact_id INTEGER NOT NULL, 
	platform VARCHAR(100) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	value VARCHAR(500) NOT NULL, 
	source_message_id INTEGER, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_identities PRIMARY KEY (id), 
	CONSTRAINT ck_identities_ck_identities_kind CHECK (kind IN ('platform_id', 'email', 'phone', 'handle', 'payment_ref')), 
	CONSTRAINT fk_identities_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id), 
	CONSTRAINT fk_identities_source_message_id_messages FOREIGN KEY(source_message_id) REFERENCES messages (id), 
	CONSTRAINT uq_identities_platform_kind_value UNIQUE (platform, kind, value)
);
INSERT INTO "identities" VALUES(1,1,'xmpp','platform_id','bob@localhost',NULL,'2025-03-01 12:00:00.003000');
CREATE TABLE ledger_entries (
	seq INTEGER NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	at VARCHAR(40) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	conversation INTEGER, 
	payload TEXT NOT NULL, 
	payload_sha256 VARCHAR(64) NOT NULL, 
	entry_hash VARCHAR(64) NOT NULL, 
	CONSTRAINT pk_ledger_entries PRIMARY KEY (seq), 
	CONSTRAINT uq_ledger_entries_entry_hash UNIQUE (entry_hash)
);
INSERT INTO "ledger_entries" VALUES(1,'0000000000000000000000000000000000000000000000000000000000000000','2025-03-01T12:00:00.001000Z','operation',NULL,'{"authorisation_ref":"AUTH-OLD-1","ends_at":"2025-03-31T12:00:00.000000Z","event":"operation_created","evidential":true,"jurisdiction":"NL","legal_basis":"synthetic test record","officer":"officer-1","operation_id":1,"organisation":"Example Unit","starts_at":"2025-03-01T12:00:00.000000Z"}','5991933ed303e8d97a63079a99c2bf68d91181b0890452b93307d53dd0617156','a89066a258345a91496eee23e27d02b6e9952075b91e099def3521a455add8d0');
INSERT INTO "ledger_entries" VALUES(2,'a89066a258345a91496eee23e27d02b6e9952075b91e099def3521a455add8d0','2025-03-01T12:00:00.004000Z','audit',NULL,'{"action":"contact_created","actor":"system","details":{"kind":"platform_id","platform":"xmpp","value_sha256":"405010d6c16c16dec36f3d7a7596c2d757ba7b57904adc4801a63e40914fd5c9"},"target":"contact:1"}','9cbd06535af46ca4625701253145945ae26bf24540927feca30be358642687b5','719c3babdf9c9cf01afbd577ca0f1c06c87ac29333ac615a40bc7480873f79a3');
INSERT INTO "ledger_entries" VALUES(3,'719c3babdf9c9cf01afbd577ca0f1c06c87ac29333ac615a40bc7480873f79a3','2025-03-01T12:00:00.006000Z','operation',1,'{"account":"mia@localhost","contact_id":1,"event":"conversation_opened","lang":"en","operation_id":1,"persona_id":"p-old","platform":"xmpp","room":null,"started_at":"2025-03-01T12:00:00.000000Z"}','eb0a5ae91310a69c914a5afe66f03972e963f7f7cfe59b911cad5c9f4f997ca1','9589fa0377312f49b08a3a2301e3850b86d94fce58528a024a6e8c8446705726');
INSERT INTO "ledger_entries" VALUES(4,'9589fa0377312f49b08a3a2301e3850b86d94fce58528a024a6e8c8446705726','2025-03-01T12:00:00.007000Z','inbound',1,'{"attachments":[],"author_sha256":"405010d6c16c16dec36f3d7a7596c2d757ba7b57904adc4801a63e40914fd5c9","contact_line":1,"message_seq":1,"platform_msg_id":"old-1","received_at":"2025-03-01T12:01:00.000000Z","text_sha256":"12998c017066eb0d2a70b94e6ed3192985855ce390f321bbdb832022888bd251","wire_sha256":"25a25dfc3289be735ccb56c75f01227874ebf9bef634cc83bb402d9257863288"}','53a9d4f41bfbb54dff1f56b3ab10ec226889b95bbfb33d52bf1b8e65d3204289','f26f72583d42517354944ea10b4eb8a48c3d600c43461b673af1596db4d5d46e');
INSERT INTO "ledger_entries" VALUES(5,'f26f72583d42517354944ea10b4eb8a48c3d600c43461b673af1596db4d5d46e','2025-03-01T12:00:00.009000Z','decision',1,'{"action":"continue","after_line":1,"indicators":[],"message_seq":1,"reason":"synthetic","risk":"0.100000","rule":"none","variant":null}','d1675fa3666ad65dd2b4569dc3c57d46b54bef0aedd339202a9d734145c49e66','44159e5b0e3ab3f1c739bb996652854223408acb39ab78033d2b50790f305553');
INSERT INTO "ledger_entries" VALUES(6,'44159e5b0e3ab3f1c739bb996652854223408acb39ab78033d2b50790f305553','2025-03-01T12:00:00.010000Z','outbound',1,'{"author_sha256":"bd5420ab4c591ef76cc489b72805df1cc5b8a863f5fec214adafe1efb0ee8004","message_seq":2,"origin":"bank:test","sent_at":"2025-03-01T12:01:05.000000Z","text_sha256":"2689367b205c16ce32ed4200942b8b8b1e262dfc70d9bc9fbc77c49699a4f1df"}','05c1d357d7ce6256e6164be45ac74a565f8ac604990877dea023de2844495080','14f7fa3337e8fba6b96973af2530bb29c9b799d9b760975f536d75e5ea882b81');
INSERT INTO "ledger_entries" VALUES(7,'14f7fa3337e8fba6b96973af2530bb29c9b799d9b760975f536d75e5ea882b81','2025-03-01T12:00:00.011000Z','inbound',1,'{"attachments":[],"author_sha256":"405010d6c16c16dec36f3d7a7596c2d757ba7b57904adc4801a63e40914fd5c9","contact_line":2,"message_seq":3,"platform_msg_id":"old-2","received_at":"2025-03-01T12:02:00.000000Z","text_sha256":"df5e7d785893ffee465e9a135b22fae1308b010f62f3bf919cc9c217809f8b6b","wire_sha256":"2731b527b79c8824d8df4023615f9fe05b5b31edcfd52c2809df33226f91fd71"}','55967826605679e2f3bbc96715140e04390ccfad270634eba6d88bcbb5cb5305','cbde94e30c666bba65f5dc2f9d2d783fe64dd823b07e34f48b2d292b9abc8ba2');
INSERT INTO "ledger_entries" VALUES(8,'cbde94e30c666bba65f5dc2f9d2d783fe64dd823b07e34f48b2d292b9abc8ba2','2025-03-01T12:00:00.013000Z','decision',1,'{"action":"continue","after_line":2,"indicators":[],"message_seq":3,"reason":"synthetic","risk":"0.100000","rule":"none","variant":null}','b00eeda6f326c553bf25b86c3523a1aedeb9efa114e2b16da7f0345b1f026ec3','251c3074fc2cea02e3d743f839b5c04b6b7d774aa6e68a769b69362e9c8b1d22');
INSERT INTO "ledger_entries" VALUES(9,'251c3074fc2cea02e3d743f839b5c04b6b7d774aa6e68a769b69362e9c8b1d22','2025-03-01T12:00:00.014000Z','outbound',1,'{"author_sha256":"bd5420ab4c591ef76cc489b72805df1cc5b8a863f5fec214adafe1efb0ee8004","message_seq":4,"origin":"bank:test","sent_at":"2025-03-01T12:02:05.000000Z","text_sha256":"2689367b205c16ce32ed4200942b8b8b1e262dfc70d9bc9fbc77c49699a4f1df"}','3dec888e430cb9b5bd11a3d74cd17df8bc61f4d2674d3cecaaff701c39dd0c7f','dee7074047e334987529ba44c6568b4bae8e2667038c6b5f15590f85fcc281ee');
INSERT INTO "ledger_entries" VALUES(10,'dee7074047e334987529ba44c6568b4bae8e2667038c6b5f15590f85fcc281ee','2025-03-01T12:00:00.015000Z','inbound',1,'{"attachments":[],"author_sha256":"405010d6c16c16dec36f3d7a7596c2d757ba7b57904adc4801a63e40914fd5c9","contact_line":3,"message_seq":5,"platform_msg_id":"old-3","received_at":"2025-03-01T12:03:00.000000Z","text_sha256":"10c91675b679b066d96198158df6c563a2b26350aee34328eaf540b4af964560","wire_sha256":"1feea619c3d2ea1fd68c47fffbd188a5eb2f7be7f11c2b599313cc9b4335c34a"}','159066c71df0ddb43097d913fc02ca8be680fcf2f31eb4297d09e1cf43693497','f1053d871acddb5052c6637f7b06e759deb5df82d30633ac044b962c26a958c7');
INSERT INTO "ledger_entries" VALUES(11,'f1053d871acddb5052c6637f7b06e759deb5df82d30633ac044b962c26a958c7','2025-03-01T12:00:00.017000Z','decision',1,'{"action":"continue","after_line":3,"indicators":[],"message_seq":5,"reason":"synthetic","risk":"0.100000","rule":"none","variant":null}','d0a906f7835c839f9179118875f44556022f9675bcda47c590d99b3068d97e23','a02287c753beffe12f459df65bf64ffb56339d524c871eb904fcb7017ab778dd');
INSERT INTO "ledger_entries" VALUES(12,'a02287c753beffe12f459df65bf64ffb56339d524c871eb904fcb7017ab778dd','2025-03-01T12:00:00.018000Z','outbound',1,'{"author_sha256":"bd5420ab4c591ef76cc489b72805df1cc5b8a863f5fec214adafe1efb0ee8004","message_seq":6,"origin":"bank:test","sent_at":"2025-03-01T12:03:05.000000Z","text_sha256":"2689367b205c16ce32ed4200942b8b8b1e262dfc70d9bc9fbc77c49699a4f1df"}','628ed75f60a4ca5cf9642d6141321105d8812646e59b4537d3b0ff0a5a7608f8','b6561294c58074ebf3d4f388939e269f6bc6869c95061d433276b6978ee1ceed');
INSERT INTO "ledger_entries" VALUES(13,'b6561294c58074ebf3d4f388939e269f6bc6869c95061d433276b6978ee1ceed','2025-03-01T12:00:00.020000Z','retention_purge',NULL,'{"actor":"retention","messages":[{"conversation":1,"message_seq":1}],"reason":"expired"}','af609ba2e65c2e14c00beb49d67d9a498b6b87fde42b349f80eb044444ce32fc','46f97eed4037b3091d7aebd2736d0bf80114af0630bb15c449943c4299105b53');
INSERT INTO "ledger_entries" VALUES(14,'46f97eed4037b3091d7aebd2736d0bf80114af0630bb15c449943c4299105b53','2025-03-01T12:00:00.022000Z','audit',NULL,'{"action":"case_opened","actor":"system","details":{"contact_id":1},"target":"case:1"}','705ff077d752f98eeb4bf9c3429a4bf3df3b6345af5c8203cffeafea30933f62','e588857705fcadc5251b5734bab43d7d9ecc2b22974c02e5e48976619ab13b50');
CREATE TABLE ledger_head (
	id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	entry_hash VARCHAR(64) NOT NULL, 
	CONSTRAINT pk_ledger_head PRIMARY KEY (id)
);
INSERT INTO "ledger_head" VALUES(1,14,'e588857705fcadc5251b5734bab43d7d9ecc2b22974c02e5e48976619ab13b50');
CREATE TABLE login_throttle (
	"key" VARCHAR(300) NOT NULL, 
	failures FLOAT NOT NULL, 
	updated_at FLOAT NOT NULL, 
	locked_until FLOAT NOT NULL, 
	in_flight INTEGER NOT NULL, 
	CONSTRAINT pk_login_throttle PRIMARY KEY ("key")
);
CREATE TABLE messages (
	id INTEGER NOT NULL, 
	conversation_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	direction VARCHAR(3) NOT NULL, 
	contact_line INTEGER, 
	author VARCHAR(300) NOT NULL, 
	text TEXT, 
	wire BLOB, 
	platform_msg_id VARCHAR(300), 
	origin VARCHAR(200), 
	at DATETIME NOT NULL, 
	attachments JSON NOT NULL, 
	ledger_seq INTEGER NOT NULL, 
	purged_at DATETIME, 
	CONSTRAINT pk_messages PRIMARY KEY (id), 
	CONSTRAINT ck_messages_ck_messages_direction CHECK (direction IN ('in', 'out')), 
	CONSTRAINT fk_messages_conversation_id_conversations FOREIGN KEY(conversation_id) REFERENCES conversations (id), 
	CONSTRAINT fk_messages_ledger_seq_ledger_entries FOREIGN KEY(ledger_seq) REFERENCES ledger_entries (seq), 
	CONSTRAINT uq_messages_conversation_id_seq UNIQUE (conversation_id, seq), 
	CONSTRAINT uq_messages_conversation_id_contact_line UNIQUE (conversation_id, contact_line)
);
INSERT INTO "messages" VALUES(1,1,1,'in',1,'bob@localhost',NULL,NULL,'old-1',NULL,'2025-03-01 12:01:00.000000','[]',4,'2025-03-01 12:00:00.019000');
INSERT INTO "messages" VALUES(2,1,2,'out',NULL,'p-old','ok',NULL,NULL,'bank:test','2025-03-01 12:01:05.000000','[]',6,NULL);
INSERT INTO "messages" VALUES(3,1,3,'in',2,'bob@localhost','how was school',X'3C6D6573736167653E3C626F64793E686F7720776173207363686F6F6C3C2F626F64793E3C2F6D6573736167653E','old-2',NULL,'2025-03-01 12:02:00.000000','[]',7,NULL);
INSERT INTO "messages" VALUES(4,1,4,'out',NULL,'p-old','ok',NULL,NULL,'bank:test','2025-03-01 12:02:05.000000','[]',9,NULL);
INSERT INTO "messages" VALUES(5,1,5,'in',3,'bob@localhost','see you',X'3C6D6573736167653E3C626F64793E73656520796F753C2F626F64793E3C2F6D6573736167653E','old-3',NULL,'2025-03-01 12:03:00.000000','[]',10,NULL);
INSERT INTO "messages" VALUES(6,1,6,'out',NULL,'p-old','ok',NULL,NULL,'bank:test','2025-03-01 12:03:05.000000','[]',12,NULL);
CREATE TABLE operation_access (
	user_id INTEGER NOT NULL, 
	operation_id INTEGER NOT NULL, 
	granted_by VARCHAR(200) NOT NULL, 
	granted_at DATETIME NOT NULL, 
	CONSTRAINT pk_operation_access PRIMARY KEY (user_id, operation_id), 
	CONSTRAINT fk_operation_access_user_id_users FOREIGN KEY(user_id) REFERENCES users (id), 
	CONSTRAINT fk_operation_access_operation_id_operations FOREIGN KEY(operation_id) REFERENCES operations (id)
);
CREATE TABLE operations (
	id INTEGER NOT NULL, 
	organisation VARCHAR(200) NOT NULL, 
	jurisdiction VARCHAR(100) NOT NULL, 
	legal_basis TEXT NOT NULL, 
	authorisation_ref VARCHAR(200) NOT NULL, 
	officer VARCHAR(200) NOT NULL, 
	starts_at DATETIME NOT NULL, 
	ends_at DATETIME, 
	evidential BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_operations PRIMARY KEY (id)
);
INSERT INTO "operations" VALUES(1,'Example Unit','NL','synthetic test record','AUTH-OLD-1','officer-1','2025-03-01 12:00:00.000000','2025-03-31 12:00:00.000000',1,'2025-03-01 12:00:00.000000');
CREATE TABLE operator_messages (
	id INTEGER NOT NULL, 
	conversation_id INTEGER NOT NULL, 
	text TEXT NOT NULL, 
	operator VARCHAR(200) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	queued_at DATETIME NOT NULL, 
	taken_at DATETIME, 
	CONSTRAINT pk_operator_messages PRIMARY KEY (id), 
	CONSTRAINT ck_operator_messages_ck_operator_messages_status CHECK (status IN ('queued', 'taken')), 
	CONSTRAINT fk_operator_messages_conversation_id_conversations FOREIGN KEY(conversation_id) REFERENCES conversations (id)
);
CREATE TABLE referrals (
	id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	proposed_by INTEGER, 
	proposed_at DATETIME NOT NULL, 
	note TEXT NOT NULL, 
	decided_by INTEGER, 
	decided_at DATETIME, 
	decision_note TEXT, 
	CONSTRAINT pk_referrals PRIMARY KEY (id), 
	CONSTRAINT ck_referrals_ck_referrals_status CHECK (status IN ('proposed', 'approved', 'rejected')), 
	CONSTRAINT fk_referrals_case_id_cases FOREIGN KEY(case_id) REFERENCES cases (id), 
	CONSTRAINT fk_referrals_proposed_by_users FOREIGN KEY(proposed_by) REFERENCES users (id), 
	CONSTRAINT fk_referrals_decided_by_users FOREIGN KEY(decided_by) REFERENCES users (id)
);
CREATE TABLE room_counters (
	platform VARCHAR(100) NOT NULL, 
	account VARCHAR(300) NOT NULL, 
	room VARCHAR(300) NOT NULL, 
	ignored_count INTEGER NOT NULL, 
	CONSTRAINT pk_room_counters PRIMARY KEY (platform, account, room)
);
CREATE TABLE "users" (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	password_hash VARCHAR(300) NOT NULL, 
	totp_secret VARCHAR(400), 
	active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	session_epoch INTEGER DEFAULT '0' NOT NULL, 
	totp_last_step INTEGER, 
	credentials_changed_at DATETIME, 
	CONSTRAINT pk_users PRIMARY KEY (id), 
	CONSTRAINT ck_users_ck_users_role CHECK (role IN ('analyst', 'supervisor', 'admin')), 
	CONSTRAINT uq_users_name UNIQUE (name)
);
CREATE TABLE web_sessions (
	token_sha256 VARCHAR(64) NOT NULL, 
	csrf_token VARCHAR(100) NOT NULL, 
	user_id INTEGER, 
	user_epoch INTEGER, 
	created_at FLOAT NOT NULL, 
	last_seen FLOAT NOT NULL, 
	data JSON NOT NULL, 
	CONSTRAINT pk_web_sessions PRIMARY KEY (token_sha256), 
	CONSTRAINT fk_web_sessions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE INDEX ix_ledger_entries_conversation ON ledger_entries (conversation);
CREATE INDEX ix_checkpoints_seq ON checkpoints (seq);
CREATE INDEX ix_conversations_contact_id ON conversations (contact_id);
CREATE INDEX ix_conversations_open ON conversations (ended_at);
CREATE INDEX ix_identities_contact_id ON identities (contact_id);
CREATE INDEX ix_decisions_conversation_id ON decisions (conversation_id);
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE INDEX ix_referrals_case_id ON referrals (case_id);
CREATE INDEX ix_case_events_case_id ON case_events (case_id);
CREATE INDEX ix_operator_messages_conversation_id ON operator_messages (conversation_id);
CREATE INDEX ix_web_sessions_user_id ON web_sessions (user_id);
CREATE INDEX ix_web_sessions_last_seen ON web_sessions (last_seen);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions BEGIN SELECT RAISE(ABORT, 'decisions is append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions BEGIN SELECT RAISE(ABORT, 'decisions is append-only'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;
CREATE TRIGGER messages_guard_update BEFORE UPDATE ON messages WHEN NOT (OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL AND NEW.text IS NULL AND NEW.wire IS NULL AND NEW.id = OLD.id AND NEW.conversation_id = OLD.conversation_id AND NEW.seq = OLD.seq AND NEW.direction = OLD.direction AND NEW.contact_line IS OLD.contact_line AND NEW.author = OLD.author AND NEW.platform_msg_id IS OLD.platform_msg_id AND NEW.origin IS OLD.origin AND NEW.at = OLD.at AND NEW.ledger_seq = OLD.ledger_seq) BEGIN SELECT RAISE(ABORT, 'messages are append-only (a retention purge only)'); END;
CREATE TRIGGER referrals_guard_update BEFORE UPDATE ON referrals WHEN NOT (OLD.status = 'proposed' AND NEW.status IN ('approved', 'rejected') AND NEW.id = OLD.id AND NEW.case_id = OLD.case_id AND NEW.proposed_by IS OLD.proposed_by AND NEW.proposed_at = OLD.proposed_at AND NEW.note = OLD.note AND OLD.decided_by IS NULL AND OLD.decided_at IS NULL AND NEW.decided_at IS NOT NULL AND NEW.decided_by IS NOT NULL AND (OLD.proposed_by IS NULL OR NEW.decided_by <> OLD.proposed_by)) BEGIN SELECT RAISE(ABORT, 'a referral proposal is fixed; it may be decided once, not by its proposer'); END;
CREATE TRIGGER ledger_head_guard_update BEFORE UPDATE ON ledger_head WHEN NOT (NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND NEW.entry_hash = (SELECT e.entry_hash FROM ledger_entries e WHERE e.seq = NEW.seq)) BEGIN SELECT RAISE(ABORT, 'ledger_head moves forward by one existing entry only'); END;
CREATE TRIGGER messages_no_delete BEFORE DELETE ON messages BEGIN SELECT RAISE(ABORT, 'messages is append-only'); END;
CREATE TRIGGER referrals_no_delete BEFORE DELETE ON referrals BEGIN SELECT RAISE(ABORT, 'referrals is append-only'); END;
CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head BEGIN SELECT RAISE(ABORT, 'ledger_head is append-only'); END;
COMMIT;
