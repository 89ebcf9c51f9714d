'use strict';
// The protos' enums, as plain frozen objects (written from crates/proto/proto/*.proto):
// `const { Common, Qot_GetUserSecurityGroup } = require("opend/proto")`,
// `Common.RetType.RetType_Succeed === 0`, `Qot_GetUserSecurityGroup.GroupType.GroupType_All === 3`.

const f = Object.freeze;

const Common = f({
  RetType: f({
    RetType_Succeed: 0,
    RetType_Failed: -1,
    RetType_TimeOut: -100,
    RetType_DisConnect: -200,
    RetType_Unknown: -400,
    RetType_Invalid: -500,
  }),
  PacketEncAlgo: f({
    PacketEncAlgo_FTAES_ECB: 0,
    PacketEncAlgo_None: -1,
    PacketEncAlgo_AES_ECB: 1,
    PacketEncAlgo_AES_CBC: 2,
  }),
  ProtoFmt: f({
    ProtoFmt_Protobuf: 0,
    ProtoFmt_Json: 1,
  }),
});

// proto/Qot_Common.proto describes only the QotHeader message: no enums.
const Qot_Common = f({});

const Qot_GetUserSecurityGroup = f({
  GroupType: f({
    GroupType_Unknown: 0,
    GroupType_Custom: 1,
    GroupType_System: 2,
    GroupType_All: 3,
  }),
});

const Notify = f({
  NotifyType: f({
    NotifyType_None: 0,
    NotifyType_GtwEvent: 1,
    NotifyType_ProgramStatus: 2,
    NotifyType_ConnStatus: 3,
    NotifyType_QotRight: 4,
    NotifyType_APILevel: 5,
    NotifyType_APIQuota: 6,
    NotifyType_UsedQuota: 7,
  }),
});

// Messages only, no enums.
const InitConnect = f({});
const InitWebSocket = f({});
const KeepAlive = f({});

module.exports = { Common, Qot_Common, Qot_GetUserSecurityGroup, Notify, InitConnect, InitWebSocket, KeepAlive };
module.exports.default = module.exports;
