// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PoseidonT3} from "./PoseidonT3.sol";
import {ZeroHashes} from "./ZeroHashes.sol";

/// @title RlnRegistry
/// @notice RLN membership registry of rlnd. Its external interface follows
/// Waku's WakuRlnV2 (register with a list of memberships to erase, the four
/// Membership* events, root(), getMerkleProof(uint40), nextFreeIndex(),
/// isInMembershipSet, getMembershipInfo, getRecentRoots) so that nodes syncing
/// either contract need one code path.
///
/// A membership is active for `activeDuration` seconds after registration,
/// then in its grace period for `gracePeriod` seconds (its holder may extend
/// it or erase it), then expired (anyone may erase it). Erasing sets its leaf
/// to 0 and frees its index and rate limit; freed indices are reused before
/// the tree grows.
///
/// The membership set is a depth-20 Poseidon Merkle tree: leaf =
/// PoseidonT3(idCommitment, rateLimit) (the RLN rate commitment), empty leaf
/// 0, node = PoseidonT3(left, right). Leaves 0..nextFreeIndex-1 are in use.
/// Like zk-kit's LazyIMT, only nodes whose subtree lies entirely below
/// nextFreeIndex ("complete" nodes) are stored; the nodes on the right edge
/// (subtrees holding index nextFreeIndex) are recomputed when needed, and
/// empty subtrees are constants (ZeroHashes).
contract RlnRegistry {
    // ------------------------------------------------------------------
    // Constants and configuration
    // ------------------------------------------------------------------

    /// @notice The BN254 scalar field modulus; id commitments are in (0, Q).
    uint256 public constant Q = PoseidonT3.Q;

    /// @notice Depth of the membership tree.
    uint8 public constant MERKLE_TREE_DEPTH = 20;

    /// @notice Number of leaves of the membership tree (2^depth).
    uint32 public constant MAX_MEMBERSHIP_SET_SIZE = uint32(1) << MERKLE_TREE_DEPTH;

    /// @dev How many roots getRecentRoots returns.
    uint256 private constant ROOT_HISTORY = 5;

    /// @notice ERC-20 token of the deposits (address(0) when free).
    address public immutable token;
    /// @notice Deposit per message of rate limit, in token units (0 = free).
    uint256 public immutable pricePerMessage;
    /// @notice Smallest rate limit of one membership (messages per epoch).
    uint32 public immutable minMembershipRateLimit;
    /// @notice Largest rate limit of one membership (messages per epoch).
    uint32 public immutable maxMembershipRateLimit;
    /// @notice Cap on the sum of the rate limits of all memberships.
    uint32 public immutable maxTotalRateLimit;
    /// @notice Seconds a membership is active after registration or extension.
    uint32 public immutable activeDuration;
    /// @notice Seconds of grace after the active period.
    uint32 public immutable gracePeriod;
    /// @notice Block in which this contract was deployed (sync starts there).
    uint32 public immutable deployedBlockNumber;

    // ------------------------------------------------------------------
    // State
    // ------------------------------------------------------------------

    /// @dev One storage slot per membership. rateLimit == 0 means absent.
    struct Membership {
        address holder;
        uint32 rateLimit;
        uint24 index;
        uint40 gracePeriodStartTimestamp;
    }

    mapping(uint256 idCommitment => Membership) private _memberships;

    /// @dev Sum of the rate limits of all memberships (<= maxTotalRateLimit).
    uint32 private _totalRateLimit;
    /// @notice Number of leaf slots ever used: the tree's next new index.
    uint32 public nextFreeIndex;
    /// @dev Number of roots recorded so far; the newest is at (count-1) % 5.
    uint64 private _rootCount;

    /// @dev Indices of erased memberships, reused last-in first-out.
    uint32[] private _freeIndices;
    /// @dev Ring of the last ROOT_HISTORY roots.
    uint256[ROOT_HISTORY] private _roots;
    /// @dev _nodes[level][position]: complete nodes only (see contract doc).
    mapping(uint256 position => uint256)[MERKLE_TREE_DEPTH + 1] private _nodes;

    /// @notice Refunds owed to holders whose memberships others erased.
    mapping(address holder => uint256) public pendingRefunds;

    // ------------------------------------------------------------------
    // Events (the same signatures as WakuRlnV2)
    // ------------------------------------------------------------------

    /// @notice A membership was added at `index`; its leaf is
    /// PoseidonT3(idCommitment, membershipRateLimit) (as in current WakuRlnV2,
    /// the second word is the rate limit; early versions sent the leaf).
    event MembershipRegistered(uint256 idCommitment, uint256 membershipRateLimit, uint32 index);
    /// @notice An expired membership was erased; its leaf is now 0.
    event MembershipExpired(uint256 idCommitment, uint32 membershipRateLimit, uint32 index);
    /// @notice A holder erased its own membership; its leaf is now 0.
    event MembershipErased(uint256 idCommitment, uint32 membershipRateLimit, uint32 index);
    /// @notice A holder extended its membership from its grace period.
    event MembershipExtended(
        uint256 idCommitment, uint32 membershipRateLimit, uint32 index, uint256 newGracePeriodStartTimestamp
    );

    // ------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------

    error InvalidConfiguration();
    error InvalidIdCommitment(uint256 idCommitment);
    error DuplicateIdCommitment(uint256 idCommitment);
    error InvalidMembershipRateLimit(uint32 rateLimit);
    error ExceededMaxTotalRateLimit();
    error MembershipSetFull();
    error MembershipDoesNotExist(uint256 idCommitment);
    error CannotEraseMembership(uint256 idCommitment);
    error NotInGracePeriod(uint256 idCommitment);
    error NotHolder(uint256 idCommitment);
    error InvalidIndex(uint256 index);
    error InvalidPaginationQuery(uint256 startIndex, uint256 endIndex);
    error TokenTransferFailed();
    error NothingToWithdraw();
    error EmptyBatch();

    /// @param token_ ERC-20 of the deposits; may be address(0) only if pricePerMessage_ is 0.
    /// @param pricePerMessage_ deposit per message of rate limit.
    /// @param minRateLimit smallest rate limit of a membership (> 0).
    /// @param maxRateLimit largest rate limit of a membership (>= min).
    /// @param maxTotalRateLimit_ cap on the sum of all rate limits (>= max).
    /// @param activeDuration_ active period in seconds (> 0).
    /// @param gracePeriod_ grace period in seconds (may be 0).
    constructor(
        address token_,
        uint256 pricePerMessage_,
        uint32 minRateLimit,
        uint32 maxRateLimit,
        uint32 maxTotalRateLimit_,
        uint32 activeDuration_,
        uint32 gracePeriod_
    ) {
        if (
            minRateLimit == 0 || minRateLimit > maxRateLimit || maxRateLimit > maxTotalRateLimit_
                || activeDuration_ == 0 || (pricePerMessage_ != 0 && token_ == address(0))
        ) revert InvalidConfiguration();
        token = token_;
        pricePerMessage = pricePerMessage_;
        minMembershipRateLimit = minRateLimit;
        maxMembershipRateLimit = maxRateLimit;
        maxTotalRateLimit = maxTotalRateLimit_;
        activeDuration = activeDuration_;
        gracePeriod = gracePeriod_;
        deployedBlockNumber = uint32(block.number);
        _pushRoot(ZeroHashes.all()[MERKLE_TREE_DEPTH]);
    }

    // ------------------------------------------------------------------
    // Membership life cycle
    // ------------------------------------------------------------------

    /// @notice Registers idCommitment with rateLimit for msg.sender, after
    /// erasing the memberships listed in idCommitmentsToErase (each must be
    /// expired, or in its grace period and held by msg.sender). Takes a
    /// deposit of pricePerMessage * rateLimit tokens (approve it first).
    function register(uint256 idCommitment, uint32 rateLimit, uint256[] calldata idCommitmentsToErase) external {
        _checkNew(idCommitment, rateLimit);

        uint256 n = nextFreeIndex;
        uint256 toErase = idCommitmentsToErase.length;
        for (uint256 i = 0; i < toErase; i++) {
            // The index freed last is the one reused below: its leaf is
            // overwritten anyway, so it is not zeroed first.
            _erase(idCommitmentsToErase[i], n, i + 1 < toErase);
        }

        n = _add(idCommitment, rateLimit, n);
        _pushRoot(_root(n));

        // Interactions last.
        if (pricePerMessage != 0) {
            _callToken(abi.encodeCall(IERC20Transfers.transferFrom, (msg.sender, address(this), pricePerMessage * rateLimit)));
            _payOut(msg.sender);
        }
    }

    /// @notice Registers several memberships of one rate limit for
    /// msg.sender: the same checks, indices and MembershipRegistered events
    /// as one register() per commitment, in order, but one root is recorded
    /// for the whole batch, so the tree's right edge is hashed once instead
    /// of once per member (about a tenth of the gas per member for large
    /// batches). Not part of WakuRlnV2: for operators registering many
    /// memberships, and for filling test chains. Takes a deposit of
    /// pricePerMessage * rateLimit per commitment.
    function registerBatch(uint256[] calldata idCommitments, uint32 rateLimit) external {
        uint256 count = idCommitments.length;
        if (count == 0) revert EmptyBatch();
        uint256 n = nextFreeIndex;
        for (uint256 i = 0; i < count; i++) {
            _checkNew(idCommitments[i], rateLimit);
            n = _add(idCommitments[i], rateLimit, n);
        }
        _pushRoot(_root(n));

        if (pricePerMessage != 0) {
            _callToken(
                abi.encodeCall(IERC20Transfers.transferFrom, (msg.sender, address(this), pricePerMessage * rateLimit * count))
            );
            _payOut(msg.sender);
        }
    }

    /// @notice Erases memberships: msg.sender's own ones in their grace period
    /// or expired (MembershipErased), anyone's expired ones
    /// (MembershipExpired). Deposits go back to their holders: msg.sender is
    /// paid at once, other holders withdraw().
    function eraseMemberships(uint256[] calldata idCommitments) external {
        uint256 n = nextFreeIndex;
        for (uint256 i = 0; i < idCommitments.length; i++) {
            _erase(idCommitments[i], n, true);
        }
        if (idCommitments.length != 0) _pushRoot(_root(n));
        if (pricePerMessage != 0) _payOut(msg.sender);
    }

    /// @notice Extends msg.sender's memberships that are in their grace
    /// period: each is active again for activeDuration from now.
    function extendMemberships(uint256[] calldata idCommitments) external {
        for (uint256 i = 0; i < idCommitments.length; i++) {
            uint256 id = idCommitments[i];
            Membership storage m = _memberships[id];
            if (m.rateLimit == 0) revert MembershipDoesNotExist(id);
            if (m.holder != msg.sender) revert NotHolder(id);
            if (!_inGrace(m.gracePeriodStartTimestamp)) revert NotInGracePeriod(id);
            uint256 start = block.timestamp + activeDuration;
            m.gracePeriodStartTimestamp = uint40(start);
            emit MembershipExtended(id, m.rateLimit, m.index, start);
        }
    }

    /// @notice Pays out msg.sender's pending refunds.
    function withdraw() external {
        if (pendingRefunds[msg.sender] == 0) revert NothingToWithdraw();
        _payOut(msg.sender);
    }

    // ------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------

    /// @notice Whether idCommitment is in (0, Q).
    function isValidIdCommitment(uint256 idCommitment) public pure returns (bool) {
        return idCommitment != 0 && idCommitment < Q;
    }

    /// @notice Whether rateLimit is within [minMembershipRateLimit, maxMembershipRateLimit].
    function isValidMembershipRateLimit(uint32 rateLimit) public view returns (bool) {
        return minMembershipRateLimit <= rateLimit && rateLimit <= maxMembershipRateLimit;
    }

    /// @notice Sum of the rate limits of all current memberships.
    function currentTotalRateLimit() external view returns (uint256) {
        return _totalRateLimit;
    }

    /// @notice Whether idCommitment has a membership (active, in grace or expired but not erased).
    function isInMembershipSet(uint256 idCommitment) external view returns (bool) {
        return _memberships[idCommitment].rateLimit != 0;
    }

    /// @notice Rate limit, index and rate commitment (leaf) of a membership; zeros if absent.
    function getMembershipInfo(uint256 idCommitment)
        external
        view
        returns (uint32 rateLimit, uint32 index, uint256 rateCommitment)
    {
        Membership memory m = _memberships[idCommitment];
        if (m.rateLimit == 0) return (0, 0, 0);
        return (m.rateLimit, m.index, _nodes[0][m.index]);
    }

    /// @notice Holder and terms of a membership; zeros if absent. The grace
    /// period runs over [gracePeriodStartTimestamp, expirationTimestamp).
    function getMembershipTerms(uint256 idCommitment)
        external
        view
        returns (address holder, uint256 gracePeriodStartTimestamp, uint256 expirationTimestamp)
    {
        Membership memory m = _memberships[idCommitment];
        if (m.rateLimit == 0) return (address(0), 0, 0);
        return (m.holder, m.gracePeriodStartTimestamp, uint256(m.gracePeriodStartTimestamp) + gracePeriod);
    }

    /// @notice Whether the membership is in its grace period.
    function isInGracePeriod(uint256 idCommitment) external view returns (bool) {
        Membership memory m = _memberships[idCommitment];
        return m.rateLimit != 0 && _inGrace(m.gracePeriodStartTimestamp);
    }

    /// @notice Whether the membership is expired (anyone may erase it).
    function isExpired(uint256 idCommitment) external view returns (bool) {
        Membership memory m = _memberships[idCommitment];
        return m.rateLimit != 0 && _expired(m.gracePeriodStartTimestamp);
    }

    /// @notice Leaves startIndex..endIndex (inclusive, below nextFreeIndex).
    function getRateCommitmentsInRangeBoundsInclusive(uint32 startIndex, uint32 endIndex)
        external
        view
        returns (uint256[] memory leaves)
    {
        if (startIndex > endIndex || endIndex >= nextFreeIndex) revert InvalidPaginationQuery(startIndex, endIndex);
        leaves = new uint256[](uint256(endIndex) - startIndex + 1);
        for (uint256 i = 0; i < leaves.length; i++) {
            leaves[i] = _nodes[0][startIndex + i];
        }
    }

    /// @notice The current root of the membership tree.
    function root() external view returns (uint256) {
        return _roots[(_rootCount - 1) % ROOT_HISTORY];
    }

    /// @notice The last five roots, newest first (0 where fewer were recorded).
    /// A root is recorded after each transaction that changes the tree.
    function getRecentRoots() external view returns (uint256[ROOT_HISTORY] memory roots) {
        uint256 count = _rootCount;
        for (uint256 k = 0; k < ROOT_HISTORY && k < count; k++) {
            roots[k] = _roots[(count - 1 - k) % ROOT_HISTORY];
        }
    }

    /// @notice Siblings of leaf `index` from the leaf level up (RLN circuit
    /// path_elements). Valid for any index below the tree size.
    function getMerkleProof(uint40 index) external view returns (uint256[MERKLE_TREE_DEPTH] memory proof) {
        if (index >= MAX_MEMBERSHIP_SET_SIZE) revert InvalidIndex(index);
        uint256 n = nextFreeIndex;
        uint256[MERKLE_TREE_DEPTH + 1] memory z = ZeroHashes.all();
        uint256[MERKLE_TREE_DEPTH + 1] memory edge = _rightEdge(n, z);
        for (uint256 level = 0; level < MERKLE_TREE_DEPTH; level++) {
            uint256 sibling = (uint256(index) >> level) ^ 1;
            uint256 edgePos = n >> level;
            if (sibling < edgePos) proof[level] = _nodes[level][sibling];
            else if (sibling == edgePos) proof[level] = edge[level];
            else proof[level] = z[level];
        }
    }

    /// @notice PoseidonT3([a, b]) as used for leaves and nodes (inputs mod Q).
    function hash2(uint256 a, uint256 b) external pure returns (uint256) {
        return PoseidonT3.hash(a, b);
    }

    // ------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------

    /// @dev Reverts unless idCommitment can be registered with rateLimit.
    function _checkNew(uint256 idCommitment, uint32 rateLimit) private view {
        if (!isValidIdCommitment(idCommitment)) revert InvalidIdCommitment(idCommitment);
        if (_memberships[idCommitment].rateLimit != 0) revert DuplicateIdCommitment(idCommitment);
        if (!isValidMembershipRateLimit(rateLimit)) revert InvalidMembershipRateLimit(rateLimit);
    }

    /// @dev Adds a checked membership at a freed index, or else at n
    /// (nextFreeIndex), sets its leaf and emits MembershipRegistered; returns
    /// the new nextFreeIndex. The caller records the root.
    function _add(uint256 idCommitment, uint32 rateLimit, uint256 n) private returns (uint256) {
        uint256 total = uint256(_totalRateLimit) + rateLimit;
        if (total > maxTotalRateLimit) revert ExceededMaxTotalRateLimit();
        _totalRateLimit = uint32(total);

        uint256 index;
        uint256 free = _freeIndices.length;
        if (free != 0) {
            index = _freeIndices[free - 1];
            _freeIndices.pop();
        } else {
            if (n == MAX_MEMBERSHIP_SET_SIZE) revert MembershipSetFull();
            index = n;
            n += 1;
            nextFreeIndex = uint32(n);
        }

        _memberships[idCommitment] = Membership({
            holder: msg.sender,
            rateLimit: rateLimit,
            index: uint24(index),
            gracePeriodStartTimestamp: uint40(block.timestamp + activeDuration)
        });
        _setLeaf(index, PoseidonT3.hash(idCommitment, rateLimit), n);
        emit MembershipRegistered(idCommitment, rateLimit, uint32(index));
        return n;
    }

    /// @dev Erases one membership (caller checks nothing); n is nextFreeIndex.
    function _erase(uint256 idCommitment, uint256 n, bool zeroLeaf) private {
        Membership memory m = _memberships[idCommitment];
        if (m.rateLimit == 0) revert MembershipDoesNotExist(idCommitment);
        bool expired = _expired(m.gracePeriodStartTimestamp);
        bool byHolder = m.holder == msg.sender;
        if (!expired && !(byHolder && _inGrace(m.gracePeriodStartTimestamp))) {
            revert CannotEraseMembership(idCommitment);
        }

        delete _memberships[idCommitment];
        _totalRateLimit -= m.rateLimit;
        _freeIndices.push(m.index);
        if (pricePerMessage != 0) pendingRefunds[m.holder] += pricePerMessage * m.rateLimit;
        if (zeroLeaf) _setLeaf(m.index, 0, n);

        if (expired) emit MembershipExpired(idCommitment, m.rateLimit, m.index);
        if (byHolder) emit MembershipErased(idCommitment, m.rateLimit, m.index);
    }

    function _inGrace(uint256 start) private view returns (bool) {
        return start <= block.timestamp && block.timestamp < start + gracePeriod;
    }

    function _expired(uint256 start) private view returns (bool) {
        return block.timestamp >= start + gracePeriod;
    }

    /// @dev Writes leaf i (< n) and recomputes the complete nodes above it.
    /// A parent is complete iff its position is below n >> its level; then
    /// both children are complete, hence stored.
    function _setLeaf(uint256 i, uint256 leaf, uint256 n) private {
        _nodes[0][i] = leaf;
        uint256 node = leaf;
        for (uint256 level = 0; level < MERKLE_TREE_DEPTH; level++) {
            uint256 parent = i >> 1;
            if (parent >= n >> (level + 1)) break;
            node = (i & 1 == 0) ? PoseidonT3.hash(node, _nodes[level][i + 1]) : PoseidonT3.hash(_nodes[level][i - 1], node);
            i = parent;
            _nodes[level + 1][i] = node;
        }
    }

    /// @dev The root of a tree whose leaves below n are in use.
    function _root(uint256 n) private view returns (uint256) {
        if (n == MAX_MEMBERSHIP_SET_SIZE) return _nodes[MERKLE_TREE_DEPTH][0];
        return _rightEdge(n, ZeroHashes.all())[MERKLE_TREE_DEPTH];
    }

    /// @dev edge[l] = the node at level l, position n >> l: the one subtree
    /// per level that holds index n, partly filled or empty. edge[DEPTH] is
    /// the root (for n below the tree size). Its left sibling, when it has
    /// one, is complete; its right sibling is empty.
    function _rightEdge(uint256 n, uint256[MERKLE_TREE_DEPTH + 1] memory z)
        private
        view
        returns (uint256[MERKLE_TREE_DEPTH + 1] memory edge)
    {
        uint256 node = 0; // leaf n is empty
        for (uint256 level = 0; level < MERKLE_TREE_DEPTH; level++) {
            edge[level] = node;
            uint256 pos = n >> level;
            if (pos & 1 == 1) {
                node = PoseidonT3.hash(_nodes[level][pos - 1], node);
            } else if (node == z[level]) {
                node = z[level + 1]; // hash of two empty subtrees
            } else {
                node = PoseidonT3.hash(node, z[level]);
            }
        }
        edge[MERKLE_TREE_DEPTH] = node;
    }

    function _pushRoot(uint256 r) private {
        uint64 count = _rootCount;
        _roots[count % ROOT_HISTORY] = r;
        _rootCount = count + 1;
    }

    /// @dev Pays holder its pending refunds, if any (state first, then the call).
    function _payOut(address holder) private {
        uint256 amount = pendingRefunds[holder];
        if (amount == 0) return;
        pendingRefunds[holder] = 0;
        _callToken(abi.encodeCall(IERC20Transfers.transfer, (holder, amount)));
    }

    /// @dev Calls the token; accepts tokens that return true or nothing.
    function _callToken(bytes memory data) private {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || (ret.length == 0 ? token.code.length == 0 : !abi.decode(ret, (bool)))) {
            revert TokenTransferFailed();
        }
    }
}

/// @dev The two ERC-20 calls the registry makes.
interface IERC20Transfers {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}
