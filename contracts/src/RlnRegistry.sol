// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PoseidonT3} from "./PoseidonT3.sol";
import {ZeroHashes} from "./ZeroHashes.sol";
import {IPriceCalculator} from "./LinearPriceCalculator.sol";

// The errors of WakuRlnV2 as deployed on Linea Sepolia (same names, same
// arguments, hence the same selectors). A duplicate commitment and a full
// set revert with strings, as there.

/// idCommitment is 0 or not below the BN254 scalar field modulus.
error InvalidIdCommitment(uint256 idCommitment);
/// startIndex > endIndex, or endIndex at or past nextFreeIndex.
error InvalidPaginationQuery(uint256 startIndex, uint256 endIndex);
/// The rate limit is outside [minMembershipRateLimit, maxMembershipRateLimit].
error InvalidMembershipRateLimit();
/// The new membership would take the total rate limit past maxTotalRateLimit.
error CannotExceedMaxTotalRateLimit();
/// Only memberships in their grace period can be extended.
error CannotExtendNonGracePeriodMembership(uint256 idCommitment);
/// Only the holder can extend a membership.
error NonHolderCannotExtend(uint256 idCommitment);
/// An active membership cannot be erased.
error CannotEraseActiveMembership(uint256 idCommitment);
/// Only the holder can erase a membership in its grace period.
error NonHolderCannotEraseGracePeriodMembership(uint256 idCommitment);
/// There is no membership with this idCommitment.
error MembershipDoesNotExist(uint256 idCommitment);

/// @title RlnRegistry
/// @notice rlnd's RLN membership registry. Everything an outside caller can
/// see follows WakuRlnV2 as deployed on Linea Sepolia: a UUPS implementation
/// behind an ERC-1967 proxy (RlnRegistryProxy), initialize(...), the owner's
/// setters, deposits priced by a price calculator and pulled with ERC-20
/// transferFrom, lazy erasure by default, the four Membership* events, the
/// public getters and views, the custom errors and revert strings.
///
/// Life cycle of a membership: active for its activeDuration, then in its
/// grace period for its gracePeriodDuration (the holder may extend it by
/// gracePeriodDuration + activeDuration past the grace period's start, or
/// erase it), then expired (anyone may erase it). Erasing frees its index
/// and rate limit and credits its deposit to the holder (withdraw). A lazy
/// erasure leaves the leaf in the tree until the index is reused; a full one
/// (eraseMemberships(ids, true)) writes 0 to it. Erasing an expired
/// membership emits MembershipExpired then MembershipErased; erasing one in
/// its grace period emits MembershipErased only. Freed indices are reused
/// last-in first-out before the tree grows.
///
/// The membership set is a depth-20 Poseidon Merkle tree: leaf =
/// PoseidonT3(idCommitment, rateLimit), empty leaf 0, node =
/// PoseidonT3(left, right); leaves 0..nextFreeIndex-1 are in use. Only nodes
/// whose subtree lies entirely below nextFreeIndex ("complete" nodes) are
/// stored; the nodes on the right edge are recomputed by the views, and
/// empty subtrees are constants (ZeroHashes).
contract RlnRegistry {
    // ------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------

    /// @notice The BN254 scalar field modulus; id commitments are in (0, Q).
    uint256 public constant Q = PoseidonT3.Q;
    /// @notice Depth of the membership tree.
    uint8 public constant MERKLE_TREE_DEPTH = 20;

    /// @dev keccak256("eip1967.proxy.implementation") - 1.
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    /// @dev This implementation's own address, to tell proxied calls apart.
    address private immutable implementationAddress = address(this);

    // ------------------------------------------------------------------
    // State (in the proxy's storage)
    // ------------------------------------------------------------------

    struct MembershipInfo {
        uint256 depositAmount;
        uint32 activeDuration;
        uint256 gracePeriodStartTimestamp;
        uint32 gracePeriodDuration;
        uint32 rateLimit;
        uint32 index;
        address holder;
        address token;
    }

    /// @notice Who may change the parameters and upgrade the implementation.
    address public owner;
    bool private initialized;

    /// @notice Prices new memberships.
    IPriceCalculator public priceCalculator;
    /// @notice Cap on the sum of the rate limits of all memberships.
    uint32 public maxTotalRateLimit;
    /// @notice Largest rate limit of one membership (messages per epoch).
    uint32 public maxMembershipRateLimit;
    /// @notice Smallest rate limit of one membership (messages per epoch).
    uint32 public minMembershipRateLimit;
    /// @notice Active period of memberships registered from now on, in seconds.
    uint32 public activeDurationForNewMemberships;
    /// @notice Grace period of memberships registered from now on, in seconds.
    uint32 public gracePeriodDurationForNewMemberships;
    /// @notice Deposits of erased memberships, withdrawable by their holders.
    mapping(address holder => mapping(address token => uint256 balance)) public depositsToWithdraw;
    /// @notice Sum of the rate limits of all memberships.
    uint256 public currentTotalRateLimit;
    /// @notice The memberships by idCommitment (all zero if absent).
    mapping(uint256 idCommitment => MembershipInfo membership) public memberships;
    /// @notice Number of leaf slots ever used: the tree's next new index.
    uint32 public nextFreeIndex;
    /// @notice Indices of erased memberships, reused last first.
    uint32[] public indicesOfLazilyErasedMemberships;
    /// @notice Number of leaves of the tree (2^MERKLE_TREE_DEPTH once initialised).
    uint32 public MAX_MEMBERSHIP_SET_SIZE;
    /// @notice Block in which the registry was initialised (sync starts there).
    uint32 public deployedBlockNumber;
    /// @dev nodes[level][position]: complete nodes only (see contract doc).
    mapping(uint256 position => uint256)[MERKLE_TREE_DEPTH + 1] private nodes;

    // ------------------------------------------------------------------
    // Events (WakuRlnV2's signatures; none has indexed parameters)
    // ------------------------------------------------------------------

    /// @notice A membership was added at `index`; its leaf is
    /// PoseidonT3(idCommitment, membershipRateLimit).
    event MembershipRegistered(uint256 idCommitment, uint256 membershipRateLimit, uint32 index);
    /// @notice An expired membership was erased (MembershipErased follows).
    event MembershipExpired(uint256 idCommitment, uint32 membershipRateLimit, uint32 index);
    /// @notice A membership was erased; its leaf stays until the index is
    /// reused, unless the erasure was a full one.
    event MembershipErased(uint256 idCommitment, uint32 membershipRateLimit, uint32 index);
    /// @notice A membership in its grace period was extended.
    event MembershipExtended(
        uint256 idCommitment, uint32 membershipRateLimit, uint32 index, uint256 newGracePeriodStartTimestamp
    );
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Initialized(uint8 version);
    event Upgraded(address indexed implementation);

    modifier onlyOwner() {
        require(msg.sender == owner, "Ownable: caller is not the owner");
        _;
    }

    /// @dev The implementation itself is never initialised: only proxies are.
    constructor() {
        initialized = true;
        emit Initialized(type(uint8).max);
    }

    /// @notice Sets up a proxy's registry; the caller becomes its owner.
    function initialize(
        address priceCalculator_,
        uint32 maxTotalRateLimit_,
        uint32 minMembershipRateLimit_,
        uint32 maxMembershipRateLimit_,
        uint32 activeDuration_,
        uint32 gracePeriod_
    ) external {
        require(!initialized, "Initializable: contract is already initialized");
        initialized = true;
        require(0 < minMembershipRateLimit_);
        require(minMembershipRateLimit_ <= maxMembershipRateLimit_);
        require(maxMembershipRateLimit_ <= maxTotalRateLimit_);
        require(activeDuration_ > 0);
        _transferOwnership(msg.sender);
        priceCalculator = IPriceCalculator(priceCalculator_);
        maxTotalRateLimit = maxTotalRateLimit_;
        minMembershipRateLimit = minMembershipRateLimit_;
        maxMembershipRateLimit = maxMembershipRateLimit_;
        activeDurationForNewMemberships = activeDuration_;
        gracePeriodDurationForNewMemberships = gracePeriod_;
        MAX_MEMBERSHIP_SET_SIZE = uint32(1) << MERKLE_TREE_DEPTH;
        deployedBlockNumber = uint32(block.number);
        emit Initialized(1);
    }

    // ------------------------------------------------------------------
    // Membership life cycle
    // ------------------------------------------------------------------

    /// @notice Registers idCommitment with rateLimit for msg.sender after
    /// erasing, lazily, the memberships listed (each expired, or in its grace
    /// period and held by msg.sender). Pulls the deposit the price
    /// calculator asks for with transferFrom: approve it first.
    function register(uint256 idCommitment, uint32 rateLimit, uint256[] calldata idCommitmentsToErase) external {
        _checkRegistrable(idCommitment);
        _eraseMemberships(idCommitmentsToErase, false);
        _register(idCommitment, rateLimit);
    }

    /// @notice Erases memberships lazily: their leaves stay in the tree
    /// until their indices are reused.
    function eraseMemberships(uint256[] calldata idCommitments) external {
        _eraseMemberships(idCommitments, false);
    }

    /// @notice Erases memberships; with eraseFromMembershipSet their leaves
    /// are set to 0 as well (the root changes).
    function eraseMemberships(uint256[] calldata idCommitments, bool eraseFromMembershipSet) external {
        _eraseMemberships(idCommitments, eraseFromMembershipSet);
    }

    /// @notice Extends msg.sender's memberships that are in their grace
    /// period: each becomes active until gracePeriodDuration + activeDuration
    /// after its grace period's start.
    function extendMemberships(uint256[] calldata idCommitments) external {
        for (uint256 i = 0; i < idCommitments.length; i++) {
            uint256 id = idCommitments[i];
            MembershipInfo storage m = memberships[id];
            if (!_inGracePeriod(m.gracePeriodStartTimestamp, m.gracePeriodDuration)) {
                revert CannotExtendNonGracePeriodMembership(id);
            }
            if (m.holder != msg.sender) revert NonHolderCannotExtend(id);
            uint256 start = m.gracePeriodStartTimestamp + m.gracePeriodDuration + uint256(m.activeDuration);
            m.gracePeriodStartTimestamp = start;
            emit MembershipExtended(id, m.rateLimit, m.index, start);
        }
    }

    /// @notice Pays msg.sender its deposits in `token` of erased memberships.
    function withdraw(address token) external {
        require(token != address(0), "ETH is not allowed");
        uint256 amount = depositsToWithdraw[msg.sender][token];
        require(amount > 0, "Insufficient deposit balance");
        depositsToWithdraw[msg.sender][token] = 0;
        _callToken(token, abi.encodeWithSelector(0xa9059cbb, msg.sender, amount)); // transfer(address,uint256)
    }

    // ------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------

    function setPriceCalculator(address priceCalculator_) external onlyOwner {
        priceCalculator = IPriceCalculator(priceCalculator_);
    }

    function setMaxTotalRateLimit(uint32 maxTotalRateLimit_) external onlyOwner {
        require(maxMembershipRateLimit <= maxTotalRateLimit_);
        maxTotalRateLimit = maxTotalRateLimit_;
    }

    function setMaxMembershipRateLimit(uint32 maxMembershipRateLimit_) external onlyOwner {
        require(minMembershipRateLimit <= maxMembershipRateLimit_);
        maxMembershipRateLimit = maxMembershipRateLimit_;
    }

    function setMinMembershipRateLimit(uint32 minMembershipRateLimit_) external onlyOwner {
        require(minMembershipRateLimit_ > 0);
        require(minMembershipRateLimit_ <= maxMembershipRateLimit);
        minMembershipRateLimit = minMembershipRateLimit_;
    }

    /// @notice Active period of memberships registered from now on.
    function setActiveDuration(uint32 activeDuration_) external onlyOwner {
        require(activeDuration_ > 0);
        activeDurationForNewMemberships = activeDuration_;
    }

    /// @notice Grace period of memberships registered from now on (may be 0).
    function setGracePeriodDuration(uint32 gracePeriod_) external onlyOwner {
        gracePeriodDurationForNewMemberships = gracePeriod_;
    }

    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "Ownable: new owner is the zero address");
        _transferOwnership(newOwner);
    }

    function renounceOwnership() external onlyOwner {
        _transferOwnership(address(0));
    }

    /// @notice ERC-1822: the storage slot this implementation upgrades.
    function proxiableUUID() external view returns (bytes32) {
        require(address(this) == implementationAddress, "UUPSUpgradeable: must not be called through delegatecall");
        return IMPLEMENTATION_SLOT;
    }

    /// @notice Points the proxy at a new implementation (owner only).
    function upgradeTo(address newImplementation) external {
        _upgrade(newImplementation, "");
    }

    /// @notice Points the proxy at a new implementation and calls it (owner only).
    function upgradeToAndCall(address newImplementation, bytes calldata data) external payable {
        _upgrade(newImplementation, data);
    }

    // ------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------

    /// @notice Whether idCommitment is in (0, Q).
    function isValidIdCommitment(uint256 idCommitment) public pure returns (bool) {
        return 0 < idCommitment && idCommitment < Q;
    }

    /// @notice Whether rateLimit is within [minMembershipRateLimit, maxMembershipRateLimit].
    function isValidMembershipRateLimit(uint32 rateLimit) public view returns (bool) {
        return minMembershipRateLimit <= rateLimit && rateLimit <= maxMembershipRateLimit;
    }

    /// @notice Whether idCommitment has a membership (in any state until erased).
    function isInMembershipSet(uint256 idCommitment) public view returns (bool) {
        (,, uint256 rateCommitment) = getMembershipInfo(idCommitment);
        return rateCommitment != 0;
    }

    /// @notice Rate limit, index and leaf (rate commitment) of a membership; zeros if absent.
    function getMembershipInfo(uint256 idCommitment) public view returns (uint32, uint32, uint256) {
        MembershipInfo storage m = memberships[idCommitment];
        uint32 rateLimit = m.rateLimit;
        if (rateLimit == 0) return (0, 0, 0);
        return (rateLimit, m.index, nodes[0][m.index]);
    }

    /// @notice Whether the membership is in its grace period.
    function isInGracePeriod(uint256 idCommitment) external view returns (bool) {
        MembershipInfo storage m = memberships[idCommitment];
        return _inGracePeriod(m.gracePeriodStartTimestamp, m.gracePeriodDuration);
    }

    /// @notice Whether the membership's grace period is over (also true for
    /// an idCommitment without a membership, as in WakuRlnV2).
    function isExpired(uint256 idCommitment) external view returns (bool) {
        MembershipInfo storage m = memberships[idCommitment];
        return _expired(m.gracePeriodStartTimestamp, m.gracePeriodDuration);
    }

    /// @notice The first timestamp at which the membership is expired.
    function membershipExpirationTimestamp(uint256 idCommitment) external view returns (uint256) {
        MembershipInfo storage m = memberships[idCommitment];
        return m.gracePeriodStartTimestamp + uint256(m.gracePeriodDuration);
    }

    /// @notice The leaves startIndex..endIndex as stored (a lazily erased
    /// membership's leaf is still there).
    function getRateCommitmentsInRangeBoundsInclusive(uint32 startIndex, uint32 endIndex)
        external
        view
        returns (uint256[] memory leaves)
    {
        if (startIndex > endIndex || endIndex >= nextFreeIndex) revert InvalidPaginationQuery(startIndex, endIndex);
        leaves = new uint256[](uint256(endIndex) - startIndex + 1);
        for (uint256 i = 0; i < leaves.length; i++) {
            leaves[i] = nodes[0][startIndex + i];
        }
    }

    /// @notice The current root of the membership tree.
    function root() external view returns (uint256) {
        uint256 n = nextFreeIndex;
        if (n == uint256(1) << MERKLE_TREE_DEPTH) return nodes[MERKLE_TREE_DEPTH][0];
        return _rightEdge(n, ZeroHashes.all())[MERKLE_TREE_DEPTH];
    }

    /// @notice Siblings of leaf `index` from the leaf level up (the RLN
    /// circuit's path elements); the leaf must be below nextFreeIndex.
    function getMerkleProof(uint40 index) external view returns (uint256[MERKLE_TREE_DEPTH] memory proof) {
        uint256 n = nextFreeIndex;
        require(index < n, "LazyIMT: leaf must exist");
        uint256[MERKLE_TREE_DEPTH + 1] memory z = ZeroHashes.all();
        uint256[MERKLE_TREE_DEPTH + 1] memory edge = _rightEdge(n, z);
        for (uint256 level = 0; level < MERKLE_TREE_DEPTH; level++) {
            uint256 sibling = (uint256(index) >> level) ^ 1;
            uint256 edgePos = n >> level;
            if (sibling < edgePos) proof[level] = nodes[level][sibling];
            else if (sibling == edgePos) proof[level] = edge[level];
            else proof[level] = z[level];
        }
    }

    /// @notice The tree's largest index and number of leaves (WakuRlnV2's
    /// merkleTree() getter of its LazyIMT).
    function merkleTree() external view returns (uint40 maxIndex, uint40 numberOfLeaves) {
        uint40 size = MAX_MEMBERSHIP_SET_SIZE;
        return (size == 0 ? 0 : size - 1, nextFreeIndex);
    }

    // ------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------

    /// @dev The checks register makes before erasing anything.
    function _checkRegistrable(uint256 idCommitment) internal view {
        if (!isValidIdCommitment(idCommitment)) revert InvalidIdCommitment(idCommitment);
        require(!isInMembershipSet(idCommitment), "Duplicate idCommitment: membership already exists");
        require(nextFreeIndex < MAX_MEMBERSHIP_SET_SIZE, "Membership set is full");
    }

    /// @dev Adds a membership for msg.sender at a freed index or at
    /// nextFreeIndex, pulls its deposit, writes its leaf and emits
    /// MembershipRegistered.
    function _register(uint256 idCommitment, uint32 rateLimit) internal {
        if (!isValidMembershipRateLimit(rateLimit)) revert InvalidMembershipRateLimit();
        uint256 total = currentTotalRateLimit + rateLimit;
        if (total > maxTotalRateLimit) revert CannotExceedMaxTotalRateLimit();
        currentTotalRateLimit = total;
        (address token, uint256 deposit) = priceCalculator.calculate(rateLimit);

        uint256 n = nextFreeIndex;
        uint256 index;
        uint256 freed = indicesOfLazilyErasedMemberships.length;
        if (freed != 0) {
            index = indicesOfLazilyErasedMemberships[freed - 1];
            indicesOfLazilyErasedMemberships.pop();
        } else {
            index = n;
            n += 1;
            nextFreeIndex = uint32(n);
        }
        memberships[idCommitment] = MembershipInfo({
            depositAmount: deposit,
            activeDuration: activeDurationForNewMemberships,
            gracePeriodStartTimestamp: block.timestamp + uint256(activeDurationForNewMemberships),
            gracePeriodDuration: gracePeriodDurationForNewMemberships,
            rateLimit: rateLimit,
            index: uint32(index),
            holder: msg.sender,
            token: token
        });
        // transferFrom(address,address,uint256)
        _callToken(token, abi.encodeWithSelector(0x23b872dd, msg.sender, address(this), deposit));
        _setLeaf(index, PoseidonT3.hash(idCommitment, rateLimit), n);
        emit MembershipRegistered(idCommitment, rateLimit, uint32(index));
    }

    /// @dev Erases each membership listed; with full, writes 0 to its leaf.
    function _eraseMemberships(uint256[] calldata idCommitments, bool full) internal {
        uint256 n = nextFreeIndex;
        for (uint256 i = 0; i < idCommitments.length; i++) {
            uint256 index = _erase(idCommitments[i]);
            if (full) _setLeaf(index, 0, n);
        }
    }

    /// @dev Erases one membership (leaving its leaf) and returns its index.
    function _erase(uint256 idCommitment) private returns (uint256) {
        MembershipInfo memory m = memberships[idCommitment];
        if (m.rateLimit == 0) revert MembershipDoesNotExist(idCommitment);
        bool expired = _expired(m.gracePeriodStartTimestamp, m.gracePeriodDuration);
        if (!expired) {
            if (!_inGracePeriod(m.gracePeriodStartTimestamp, m.gracePeriodDuration)) {
                revert CannotEraseActiveMembership(idCommitment);
            }
            if (m.holder != msg.sender) revert NonHolderCannotEraseGracePeriodMembership(idCommitment);
        }
        depositsToWithdraw[m.holder][m.token] += m.depositAmount;
        currentTotalRateLimit -= m.rateLimit;
        indicesOfLazilyErasedMemberships.push(m.index);
        delete memberships[idCommitment];
        if (expired) emit MembershipExpired(idCommitment, m.rateLimit, m.index);
        emit MembershipErased(idCommitment, m.rateLimit, m.index);
        return m.index;
    }

    function _inGracePeriod(uint256 start, uint32 duration) private view returns (bool) {
        return start <= block.timestamp && block.timestamp < start + uint256(duration);
    }

    function _expired(uint256 start, uint32 duration) private view returns (bool) {
        return start + uint256(duration) <= block.timestamp;
    }

    /// @dev Calls an ERC-20 as OpenZeppelin's SafeERC20 does: a revert is
    /// passed on, false or a call to an account without code fails.
    function _callToken(address token, bytes memory data) private {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok) {
            if (ret.length == 0) revert("SafeERC20: low-level call failed");
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        if (ret.length == 0) require(token.code.length > 0, "Address: call to non-contract");
        else require(abi.decode(ret, (bool)), "SafeERC20: ERC20 operation did not succeed");
    }

    function _transferOwnership(address newOwner) private {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @dev UUPS upgrade: only through the active proxy, only by the owner,
    /// only to an implementation that declares the same slot.
    function _upgrade(address newImplementation, bytes memory data) private {
        require(address(this) != implementationAddress, "Function must be called through delegatecall");
        address current;
        assembly ("memory-safe") {
            current := sload(IMPLEMENTATION_SLOT)
        }
        require(current == implementationAddress, "Function must be called through active proxy");
        require(msg.sender == owner, "Ownable: caller is not the owner");
        require(newImplementation.code.length > 0, "ERC1967: new implementation is not a contract");
        try RlnRegistry(newImplementation).proxiableUUID() returns (bytes32 slot) {
            require(slot == IMPLEMENTATION_SLOT, "ERC1967Upgrade: unsupported proxiableUUID");
        } catch {
            revert("ERC1967Upgrade: new implementation is not UUPS");
        }
        assembly ("memory-safe") {
            sstore(IMPLEMENTATION_SLOT, newImplementation)
        }
        emit Upgraded(newImplementation);
        if (data.length != 0) {
            (bool ok, bytes memory ret) = newImplementation.delegatecall(data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }

    /// @dev Writes leaf i (< n, the number of leaves in use) and recomputes
    /// the complete nodes above it. A parent is complete iff its position is
    /// below n >> its level; then both its children are complete, hence stored.
    function _setLeaf(uint256 i, uint256 leaf, uint256 n) internal {
        nodes[0][i] = leaf;
        uint256 node = leaf;
        for (uint256 level = 0; level < MERKLE_TREE_DEPTH; level++) {
            uint256 parent = i >> 1;
            if (parent >= n >> (level + 1)) break;
            node = (i & 1 == 0) ? PoseidonT3.hash(node, nodes[level][i + 1]) : PoseidonT3.hash(nodes[level][i - 1], node);
            i = parent;
            nodes[level + 1][i] = node;
        }
    }

    /// @dev edge[l] = the node at level l, position n >> l: the one subtree
    /// per level that holds index n, partly filled or empty; edge[DEPTH] is
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
                node = PoseidonT3.hash(nodes[level][pos - 1], node);
            } else if (node == z[level]) {
                node = z[level + 1]; // hash of two empty subtrees
            } else {
                node = PoseidonT3.hash(node, z[level]);
            }
        }
        edge[MERKLE_TREE_DEPTH] = node;
    }
}
